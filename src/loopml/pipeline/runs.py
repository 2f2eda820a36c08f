"""Reading pipeline runs back: one run, the recent runs, and why a step hit or missed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.pipeline._stores import pipeline_store
from loopml.pipeline.records import PipelineRun

__all__ = [
    "CacheExplanation",
    "ComponentChange",
    "explain_cache",
    "get_pipeline_run",
    "list_pipeline_runs",
]


def get_pipeline_run(run_id: str) -> PipelineRun:
    record, steps = pipeline_store().get_run(run_id)
    return PipelineRun.from_records(record, steps)


def list_pipeline_runs(pipeline: str | None = None, limit: int = 50) -> list[PipelineRun]:
    """Newest first; steps are not loaded (``get_pipeline_run`` for those)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidParameterError(f"limit must be a whole number >= 1, got {limit!r}")
    return [PipelineRun.from_records(r, []) for r in pipeline_store().list_runs(pipeline, limit)]


@dataclass
class ComponentChange:
    name: str  # "code", "params", "inputs" or "env"
    old: str | None
    new: str | None
    changed: bool
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "changed": self.changed,
            "details": list(self.details),
        }


@dataclass
class CacheExplanation:
    run_id: str
    step: str
    status: str
    cache_hit: bool
    cache_key: str | None
    previous_run_id: str | None
    previous_key: str | None
    components: list[ComponentChange]
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "step": self.step,
            "status": self.status,
            "cache_hit": self.cache_hit,
            "cache_key": self.cache_key,
            "previous_run_id": self.previous_run_id,
            "previous_key": self.previous_key,
            "components": [c.to_dict() for c in self.components],
            "summary": self.summary,
        }


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append(f"{key}: added ({_short(new[key])})")
        elif key not in new:
            out.append(f"{key}: removed (was {_short(old[key])})")
        elif old[key] != new[key]:
            out.append(f"{key}: {_short(old[key])} -> {_short(new[key])}")
    return out


def _short(value: Any) -> str:
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12]
    return text if len(text) <= 80 else text[:77] + "..."


_LABEL = {"code": "code", "params": "parameters", "inputs": "inputs", "env": "environment"}


def explain_cache(run_id: str, step: str) -> CacheExplanation:
    """Compare ``step``'s cache key in run ``run_id`` with the same step's key in the
    previous run of the same pipeline, component by component."""
    store = pipeline_store()
    record, steps = store.get_run(run_id)
    found = next((s for s in steps if s.name == step), None)
    if found is None:
        raise InvalidParameterError(
            f"pipeline run {run_id} has no step {step!r}; its steps are: "
            f"{', '.join(s.name for s in steps)}",
            step=step,
        )
    parts = found.components or {}
    previous = store.previous_step(record.pipeline, step, record.started_ms, run_id)
    old_parts = (previous.components or {}) if previous is not None else {}
    producers = {o["hash"]: s.name for s in steps for o in s.outputs}
    changes = []
    for name in ("code", "params", "inputs", "env"):
        new = parts.get(name) or {}
        old = old_parts.get(name) or {}
        changed = previous is not None and old.get("hash") != new.get("hash")
        details = _diff(old.get("detail") or {}, new.get("detail") or {}) if changed else []
        if name == "inputs":  # say which upstream step's output changed
            new_detail = new.get("detail") or {}
            details = [
                f"{d} (output of {producers[new_detail[arg]]!r})"
                if (arg := d.split(":", 1)[0]) in new_detail and new_detail[arg] in producers
                else d
                for d in details
            ]
        changes.append(ComponentChange(name, old.get("hash"), new.get("hash"), changed, details))
    summary = _summary(found.status, found.cache_hit, found.cache_key, previous, changes, step)
    return CacheExplanation(
        run_id=run_id,
        step=step,
        status=found.status,
        cache_hit=found.cache_hit,
        cache_key=found.cache_key,
        previous_run_id=None if previous is None else previous.pipeline_run_id,
        previous_key=None if previous is None else previous.cache_key,
        components=changes,
        summary=summary,
    )


def _summary(
    status: str,
    hit: bool,
    key: str | None,
    previous: Any,
    changes: list[ComponentChange],
    step: str,
) -> str:
    if key is None:
        return f"step {step!r} was never keyed ({status}): an upstream step failed first"
    changed = [c for c in changes if c.changed]
    if hit:
        return f"step {step!r} hit the cache: its key {key[:12]} matches a stored result"
    if previous is None:
        reason = "there is no earlier run of it to compare with"
        if status == "FINISHED":
            return f"step {step!r} ran: {reason} (first run, or the cache was off)"
        return f"step {step!r} is {status}: {reason}"
    if not changed:
        return (
            f"step {step!r} ran although its key is unchanged: the cache was off for the run or "
            "the step (cache=False), or the stored outputs were gone"
        )
    parts = []
    for c in changed:
        detail = f" ({'; '.join(c.details[:5])})" if c.details else ""
        parts.append(f"{_LABEL[c.name]} changed{detail}")
    return f"step {step!r} ran because its " + ", and its ".join(parts)
