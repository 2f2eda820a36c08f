"""The module-level API a user types (``loopml.start_run``, ``loopml.log_metric``, ...).

It keeps a process-wide stack of active runs, so helper functions and threads log into the run
that the outermost ``with`` opened, and nested runs push onto it.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from loopml.errors import InvalidParameterError, InvalidStateError
from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    Metric,
    Run,
    RunList,
    RunStatus,
)
from loopml.tracking import artifacts as art
from loopml.tracking.client import DEFAULT_EXPERIMENT, TrackingClient
from loopml.tracking.context import get_context

_client = TrackingClient()
_stack: list[ActiveRun] = []
_stack_lock = threading.RLock()
_experiment: Experiment | None = None
_last_run_id: str | None = None


class ActiveRun:
    """A run in progress; as a context manager it ends the run with the right status."""

    def __init__(self, run: Run) -> None:
        self.run_id = run.run_id
        self.info = run

    @property
    def data(self) -> Run:
        return _client.get_run(self.run_id)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            end_run(RunStatus.FINISHED, run_id=self.run_id)
        elif issubclass(exc_type, KeyboardInterrupt):
            end_run(RunStatus.KILLED, message="interrupted (KeyboardInterrupt)", run_id=self.run_id)
        else:
            message = "".join(traceback.format_exception_only(exc_type, exc)).strip()
            end_run(RunStatus.FAILED, message=message, run_id=self.run_id)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.info.run_name} ({self.run_id})>"


def client() -> TrackingClient:
    return _client


def set_experiment(name: str) -> Experiment:
    """Use experiment ``name`` for the runs that follow, creating it if needed."""
    global _experiment
    _experiment = _client.get_or_create_experiment(name)
    return _experiment


def _current_experiment() -> Experiment:
    global _experiment
    if _experiment is not None:
        return _experiment
    name = os.environ.get("LOOPML_EXPERIMENT") or DEFAULT_EXPERIMENT
    _experiment = _client.get_or_create_experiment(name)
    return _experiment


def start_run(
    run_name: str | None = None,
    *,
    run_id: str | None = None,
    experiment: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one.

    Inside an active run, pass ``nested=True`` to start a child run.
    """
    global _last_run_id
    with _stack_lock:
        if _stack and not nested and run_id != _stack[-1].run_id:
            raise InvalidStateError(
                f"run {_stack[-1].run_id} is already active; end it first, or pass "
                "nested=True to start a child run"
            )
        all_tags = {k: str(v) for k, v in (tags or {}).items()}
        if description:
            all_tags["loopml.note"] = description
        if run_id is not None:
            run = _client.ctx.metadata.get_run(run_id)
            if run.status is not RunStatus.RUNNING:
                run = _client.ctx.metadata.update_run(run_id, status=RunStatus.RUNNING)
            if all_tags:
                _client.set_tags(run_id, all_tags)
        else:
            exp = (
                _client.get_or_create_experiment(experiment)
                if experiment
                else _current_experiment()
            )
            parent = _stack[-1].run_id if (_stack and nested) else None
            run = _client.create_run(
                exp.experiment_id, run_name=run_name, parent_run_id=parent, tags=all_tags
            )
        active = ActiveRun(run)
        _stack.append(active)
        _last_run_id = run.run_id
        return active


def end_run(
    status: RunStatus | str = RunStatus.FINISHED,
    *,
    message: str | None = None,
    run_id: str | None = None,
) -> None:
    """End the active run (or ``run_id``), flushing its queued metrics first."""
    with _stack_lock:
        if not _stack:
            return
        target = run_id or _stack[-1].run_id
        # a child left open by a failing block is ended with its parent
        while _stack and _stack[-1].run_id != target:
            child = _stack.pop()
            _client.end_run(child.run_id, RunStatus(status), message)
        if _stack:
            _stack.pop()
        _client.end_run(target, RunStatus(status), message)


def active_run() -> ActiveRun | None:
    return _stack[-1] if _stack else None


def last_active_run() -> Run | None:
    return _client.get_run(_last_run_id) if _last_run_id else None


def _run_id() -> str:
    if _stack:
        return _stack[-1].run_id
    raise InvalidStateError(
        "no active run: wrap the logging in `with loopml.start_run():` or call loopml.start_run()"
    )


def log_param(key: str, value: Any) -> None:
    _client.log_params(_run_id(), {key: value})


def log_params(params: Mapping[str, Any]) -> None:
    _client.log_params(_run_id(), params)


def set_tag(key: str, value: Any) -> None:
    _client.set_tags(_run_id(), {key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    _client.set_tags(_run_id(), tags)


def log_metric(key: str, value: float, step: int = 0, timestamp_ms: int | None = None) -> None:
    """Queue a metric point; it is written in the background (``loopml.flush()`` to force it)."""
    _client.log_metric(_stack[-1].run_id if _stack else _run_id(), key, value, step, timestamp_ms)


def log_metrics(metrics: Mapping[str, Any], step: int = 0, timestamp_ms: int | None = None) -> None:
    _client.log_metrics(_run_id(), metrics, step, timestamp_ms)


def log_batch(key: str, values: Sequence[float] | Any, steps: Sequence[int] | Any = None) -> None:
    _client.log_batch(_run_id(), key, values, steps)


def flush() -> int:
    """Write every queued metric point now; returns how many were written."""
    return get_context().flush()


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None
) -> ArtifactRecord:
    return _client.log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None
) -> ArtifactRecord:
    return _client.log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> ArtifactRecord:
    return _client.log_bytes(_run_id(), art.text_bytes(text), artifact_file)


def log_dict(data: Any, artifact_file: str) -> ArtifactRecord:
    return _client.log_bytes(_run_id(), art.dict_bytes(data), artifact_file)


def log_figure(figure: Any, artifact_file: str) -> ArtifactRecord:
    fmt = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else "png"
    if "." not in artifact_file:
        artifact_file += ".png"
    return _client.log_bytes(_run_id(), art.figure_bytes(figure, fmt), artifact_file)


def log_table(table: Any, name: str) -> ArtifactRecord:
    """Store a DataFrame as Parquet at ``<name>.parquet``; ``runs:/<id>/<name>`` finds it."""
    if not name.endswith(".parquet"):
        name += ".parquet"
    return _client.log_bytes(_run_id(), art.table_bytes(table), name)


def load_table(uri: str) -> Any:
    return _client.load_table(uri)


def download_artifacts(uri: str, dest: str | os.PathLike[str] = ".") -> Any:
    return _client.download_artifacts(uri, dest)


def get_run(run_id: str) -> Run:
    return _client.get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    return _client.get_metric_history(run_id, key)


def search_runs(
    experiments: str | Iterable[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> RunList:
    """Runs of ``experiments`` (names or ids; all when None) matching ``filter``.

    ``filter`` is e.g. ``"metrics.loss < 0.1 and params.max_depth = '8'"`` (docs/search.md).
    """
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InvalidParameterError(f"max_results must be an integer, got {max_results!r}")
    return _client.search_runs(experiments, filter, order_by, max_results, page_token)
