"""CT policies: what to retrain, when, which gates a candidate must pass and how it rolls out.

Policies live in ``loopml.toml`` as ``[ct.<name>]`` tables, or in YAML (``ct.yaml`` / ``ct.yml``
at the project root or in ``pipelines/``, under a top-level ``ct:`` mapping) with the same
shape. Every key is checked when loaded: a typo or a wrong type is an ``INVALID_PARAMETER``
error naming the key (``ct.churn.rollout.canary_weight``), never a silent default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError

__all__ = [
    "METRICS",
    "Gates",
    "Policy",
    "Rollout",
    "Trigger",
    "load_policies",
    "parse_policies",
    "parse_policy",
]

# metric -> True when higher is better
METRICS: dict[str, bool] = {
    "auc": True,
    "accuracy": True,
    "f1": True,
    "precision": True,
    "recall": True,
    "logloss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}
TRIGGER_KINDS = ("cron", "new_data", "alert", "manual")
ALERT_NAMES = (
    "input_drift",
    "output_drift",
    "error_rate",
    "latency",
    "accuracy_drop",
    "deployment_down",
)
YAML_FILES = ("ct.yaml", "ct.yml", "pipelines/ct.yaml", "pipelines/ct.yml")
_POLICY_KEYS = {
    "pipeline",
    "deployment",
    "triggers",
    "gates",
    "promotion",
    "rollout",
    "metric",
    "params",
    "holdout",
    "label",
    "catch_up",
}
_GATE_KEYS = {"data_validation", "min_improvement", "max_slice_regression", "slice_column"}
_ROLLOUT_KEYS = {"canary_weight", "min_requests", "max_error_rate", "max_p99_ms", "timeout_s"}


@dataclass(frozen=True)
class Trigger:
    kind: str  # cron, new_data, alert, manual
    value: str  # the cron expression, dataset name, alert name, or "" for manual

    def describe(self) -> str:
        return self.kind if self.kind == "manual" else f"{self.kind} {self.value}"


@dataclass(frozen=True)
class Gates:
    data_validation: bool = True
    min_improvement: float = 0.0
    max_slice_regression: float | None = None
    slice_column: str | None = None


@dataclass(frozen=True)
class Rollout:
    canary_weight: int = 10
    min_requests: int = 100
    max_error_rate: float = 0.01
    max_p99_ms: float | None = None
    timeout_s: float | None = None  # roll back when min_requests is not reached in time


@dataclass(frozen=True)
class Policy:
    """One ``[ct.<name>]`` table, checked."""

    name: str
    pipeline: str
    deployment: str | None = None
    triggers: tuple[Trigger, ...] = ()
    gates: Gates = field(default_factory=Gates)
    promotion: str = "auto"  # or "approval"
    rollout: Rollout = field(default_factory=Rollout)
    metric: str = "auc"
    params: dict[str, Any] = field(default_factory=dict)
    holdout: str = "split[-1]"  # a step output (``step`` or ``step[i]``) or a data:/ URI
    label: str | None = None  # the label column of the holdout; inferred when None
    catch_up: bool = False
    source: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric]

    def triggers_of(self, kind: str) -> list[Trigger]:
        return [t for t in self.triggers if t.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pipeline": self.pipeline,
            "deployment": self.deployment,
            "triggers": [{t.kind: t.value or True} for t in self.triggers],
            "gates": self.gates.__dict__,
            "promotion": self.promotion,
            "rollout": self.rollout.__dict__,
            "metric": self.metric,
            "params": self.params,
            "holdout": self.holdout,
            "label": self.label,
            "catch_up": self.catch_up,
            "source": self.source,
        }


def _bad(key: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(f"{key}: {why}", key=key)


def _unknown(key: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _bad(
            f"{key}.{extra[0]}",
            f"unknown key; {key} takes {', '.join(sorted(allowed))}",
        )


def _table(key: str, raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _bad(key, f"must be a table ({{...}}), got {type(raw).__name__}")
    return raw


def _str(key: str, raw: Any, *, required: bool = False) -> str | None:
    if raw is None:
        if required:
            raise _bad(key, "is required")
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise _bad(key, f"must be a non-empty string, got {raw!r}")
    return raw.strip()


def _number(key: str, raw: Any, lo: float, hi: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _bad(key, f"must be a number, got {raw!r}")
    value = float(raw)
    if value < lo or (hi is not None and value > hi):
        bounds = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
        raise _bad(key, f"must be {bounds}, got {raw!r}")
    return value


def _int(key: str, raw: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _bad(key, f"must be a whole number, got {raw!r}")
    _number(key, raw, lo, hi)
    return raw


def _bool(key: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _bad(key, f"must be true or false, got {raw!r}")
    return raw


def _trigger(key: str, raw: Any) -> Trigger:
    if isinstance(raw, str) and raw == "manual":
        return Trigger("manual", "")
    table = _table(key, raw)
    if len(table) != 1:
        raise _bad(
            key,
            f"one of {{cron = ...}}, {{new_data = ...}}, {{alert = ...}} or {{manual = true}}, got {dict(table)!r}",
        )
    kind, value = next(iter(table.items()))
    if kind not in TRIGGER_KINDS:
        raise _bad(f"{key}.{kind}", f"unknown trigger; use one of {', '.join(TRIGGER_KINDS)}")
    if kind == "manual":
        _bool(f"{key}.manual", value)
        return Trigger("manual", "")
    text = _str(f"{key}.{kind}", value, required=True)
    assert text is not None
    if kind == "cron":
        from croniter import croniter

        if not croniter.is_valid(text):
            raise _bad(f"{key}.cron", f"{text!r} is not a cron expression (e.g. '0 3 * * 1')")
    if kind == "alert" and text not in ALERT_NAMES:
        raise _bad(f"{key}.alert", f"{text!r} is not an alert; use one of {', '.join(ALERT_NAMES)}")
    return Trigger(kind, text)


def _gates(key: str, raw: Any) -> Gates:
    table = _table(key, raw)
    _unknown(key, table, _GATE_KEYS)
    max_slice = table.get("max_slice_regression")
    slice_column = _str(f"{key}.slice_column", table.get("slice_column"))
    if (max_slice is None) != (slice_column is None):
        missing = "slice_column" if slice_column is None else "max_slice_regression"
        raise _bad(f"{key}.{missing}", "is required when the other slice key is set")
    return Gates(
        data_validation=_bool(f"{key}.data_validation", table.get("data_validation", True)),
        min_improvement=_number(f"{key}.min_improvement", table.get("min_improvement", 0.0), -1e9),
        max_slice_regression=None
        if max_slice is None
        else _number(f"{key}.max_slice_regression", max_slice, 0.0),
        slice_column=slice_column,
    )


def _rollout(key: str, raw: Any) -> Rollout:
    table = _table(key, raw)
    _unknown(key, table, _ROLLOUT_KEYS)
    p99 = table.get("max_p99_ms")
    timeout = table.get("timeout_s")
    return Rollout(
        canary_weight=_int(f"{key}.canary_weight", table.get("canary_weight", 10), 1, 99),
        min_requests=_int(f"{key}.min_requests", table.get("min_requests", 100), 1),
        max_error_rate=_number(f"{key}.max_error_rate", table.get("max_error_rate", 0.01), 0, 1),
        max_p99_ms=None if p99 is None else _number(f"{key}.max_p99_ms", p99, 0.001),
        timeout_s=None if timeout is None else _number(f"{key}.timeout_s", timeout, 0.001),
    )


def parse_policy(name: str, raw: Any, source: str | None = None) -> Policy:
    """Check one policy table; errors name the key, e.g. ``ct.churn.gates.min_improvement``."""
    key = f"ct.{name}"
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise _bad(key, "a policy name is letters, digits, '-', '_' or '.'")
    table = _table(key, raw)
    _unknown(key, table, _POLICY_KEYS)
    pipeline = _str(f"{key}.pipeline", table.get("pipeline"), required=True)
    assert pipeline is not None
    if ":" not in pipeline:
        raise _bad(f"{key}.pipeline", f"{pipeline!r} must be 'path/to/file.py:function'")
    raw_triggers = table.get("triggers", [])
    if not isinstance(raw_triggers, list):
        raise _bad(f"{key}.triggers", "must be a list, e.g. [{cron = '0 3 * * 1'}]")
    triggers = tuple(_trigger(f"{key}.triggers[{i}]", t) for i, t in enumerate(raw_triggers))
    deployment = _str(f"{key}.deployment", table.get("deployment"))
    if deployment is None and any(t.kind == "alert" for t in triggers):
        raise _bad(
            f"{key}.deployment", "is required by an alert trigger (alerts are per deployment)"
        )
    promotion = table.get("promotion", "auto")
    if promotion not in ("auto", "approval"):
        raise _bad(f"{key}.promotion", f"must be 'auto' or 'approval', got {promotion!r}")
    metric = table.get("metric", "auc")
    if metric not in METRICS:
        raise _bad(f"{key}.metric", f"{metric!r} is not one of {', '.join(METRICS)}")
    params = _table(f"{key}.params", table.get("params"))
    holdout = _str(f"{key}.holdout", table.get("holdout")) or "split[-1]"
    return Policy(
        name=name,
        pipeline=pipeline,
        deployment=deployment,
        triggers=triggers,
        gates=_gates(f"{key}.gates", table.get("gates")),
        promotion=str(promotion),
        rollout=_rollout(f"{key}.rollout", table.get("rollout")),
        metric=str(metric),
        params=dict(params),
        holdout=holdout,
        label=_str(f"{key}.label", table.get("label")),
        catch_up=_bool(f"{key}.catch_up", table.get("catch_up", False)),
        source=source,
    )


def parse_policies(tables: Any, source: str | None = None) -> dict[str, Policy]:
    """The policies of a ``ct`` table (``{name: {...}}``)."""
    ct = _table("ct", tables)
    return {name: parse_policy(str(name), raw, source) for name, raw in ct.items()}


def _read_file(path: Path) -> dict[str, Policy]:
    text = path.read_bytes()
    if path.suffix == ".toml":
        try:
            body: Any = tomllib.loads(text.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidParameterError(f"{path} is not valid TOML: {exc}", path=str(path)) from exc
    else:
        import yaml

        try:
            body = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InvalidParameterError(f"{path} is not valid YAML: {exc}", path=str(path)) from exc
    if not isinstance(body, Mapping):
        raise InvalidParameterError(f"{path} must hold a table with a 'ct' key", path=str(path))
    return parse_policies(body.get("ct", {}), str(path))


def load_policies(root: Path | None = None, path: Path | None = None) -> dict[str, Policy]:
    """Policies from ``path`` (TOML or YAML) or else from the project at ``root``:
    ``loopml.toml``'s ``[ct.*]`` tables plus ``ct.yaml`` files; a name defined twice is an
    error naming both files."""
    if path is not None:
        if not path.is_file():
            raise InvalidParameterError(f"policy file {str(path)!r} does not exist", path=str(path))
        return _read_file(path)
    if root is None:  # the project the SDK is pointed at (``-C`` on the command line)
        from loopml.tracking.context import get_context

        root = get_context().settings.root
    found: dict[str, Policy] = {}
    files = [root / "loopml.toml", *(root / y for y in YAML_FILES)]
    for file in files:
        if not file.is_file():
            continue
        for name, policy in _read_file(file).items():
            if name in found:
                raise InvalidParameterError(
                    f"ct.{name} is defined twice: in {found[name].source} and {file}", key=name
                )
            found[name] = policy
    return found
