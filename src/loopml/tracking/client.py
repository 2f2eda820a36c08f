"""The explicit tracking API: every call names its run. The fluent API and the CLI sit on it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError, InvalidStateError, NotFoundError
from loopml.store.metadata.entities import (
    ArtifactRecord,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunList,
    RunStatus,
)
from loopml.store.metadata.validation import check_key, check_metric_value, check_step, param_text
from loopml.tracking import artifacts as art
from loopml.tracking.context import Context, get_context
from loopml.uris import RunArtifactURI, parse_uri

DEFAULT_EXPERIMENT = "Default"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TrackingClient:
    def __init__(self, context: Context | None = None) -> None:
        self._ctx = context
        self._checked_keys: set[str] = set()
        self._known_runs: set[str] = set()

    @property
    def ctx(self) -> Context:
        return self._ctx if self._ctx is not None else get_context()

    # -- experiments ------------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Experiment:
        store = self.ctx.metadata
        try:
            exp = store.get_experiment_by_name(name)
        except NotFoundError:
            from loopml.errors import AlreadyExistsError

            try:
                return store.create_experiment(name)
            except AlreadyExistsError:  # created by another process meanwhile
                return store.get_experiment_by_name(name)
        if exp.lifecycle_stage is LifecycleStage.DELETED:
            raise InvalidStateError(
                f"experiment {name!r} is deleted; restore it with "
                f"`loopml experiments restore {name}` or choose another name"
            )
        return exp

    def resolve_experiment(self, name_or_id: str) -> Experiment:
        store = self.ctx.metadata
        try:
            return store.get_experiment_by_name(name_or_id)
        except NotFoundError:
            try:
                return store.get_experiment(name_or_id)
            except NotFoundError:
                raise NotFoundError(
                    f"no experiment named or with id {name_or_id!r}; see `loopml experiments list`"
                ) from None

    # -- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        capture_provenance: bool = True,
    ) -> Run:
        all_tags: dict[str, str] = {}
        if capture_provenance:
            from loopml.tracking.provenance import capture

            all_tags.update(capture())
        all_tags.update({k: str(v) for k, v in (tags or {}).items()})
        run = self.ctx.metadata.create_run(
            experiment_id,
            run_name=run_name,
            parent_run_id=parent_run_id,
            tags=all_tags,
            user=all_tags.get("loopml.user"),
        )
        self._known_runs.add(run.run_id)
        return run

    def get_run(self, run_id: str) -> Run:
        self.ctx.flush()
        return self.ctx.metadata.get_run(run_id)

    def end_run(
        self, run_id: str, status: RunStatus = RunStatus.FINISHED, message: str | None = None
    ) -> None:
        """Flush queued metrics and set the final status, in one store call."""
        store = self.ctx.metadata
        end = now_ms()
        self.ctx.buffer.flush_with(
            lambda points: store.end_run(run_id, RunStatus(status), end, message, points),
            always=True,
        )

    def _require_run(self, run_id: str) -> None:
        if run_id not in self._known_runs:
            self.ctx.metadata.get_run(run_id)  # raises RESOURCE_NOT_FOUND
            self._known_runs.add(run_id)

    # -- params, tags, metrics --------------------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.ctx.metadata.log_params(run_id, {k: param_text(v) for k, v in params.items()})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.ctx.metadata.set_tags(run_id, {k: str(v) for k, v in tags.items()})

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp_ms: int | None = None
    ) -> None:
        """Queue one point; it reaches the store within the flush interval (see ``buffer``)."""
        if key not in self._checked_keys:
            check_key(key, "metric key")
            self._checked_keys.add(key)
        if type(value) is not float:
            value = check_metric_value(key, value)
        if type(step) is not int:
            step = check_step(step)
        if run_id not in self._known_runs:
            self._require_run(run_id)
        self.ctx.buffer.add(
            (
                run_id,
                key,
                value,
                step,
                time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms,
            )
        )

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, Any],
        step: int = 0,
        timestamp_ms: int | None = None,
    ) -> None:
        ts = now_ms() if timestamp_ms is None else timestamp_ms
        step = check_step(step)
        self._require_run(run_id)
        points = []
        for key, value in metrics.items():
            if key not in self._checked_keys:
                check_key(key, "metric key")
                self._checked_keys.add(key)
            points.append((run_id, key, check_metric_value(key, value), step, ts))
        self.ctx.buffer.extend(points)

    def log_batch(
        self,
        run_id: str,
        key: str,
        values: Any,
        steps: Any = None,
    ) -> None:
        """Many points of one metric at once (e.g. a whole loss curve); numpy arrays welcome."""
        check_key(key, "metric key")
        self._require_run(run_id)
        vals: list[float]
        if _is_float_array(values):
            vals = values.tolist()
        else:
            vals = [check_metric_value(key, v) for v in values]
        n = len(vals)
        raw_steps: Any = range(n) if steps is None else steps
        step_list = [check_step(s) for s in getattr(raw_steps, "tolist", lambda: raw_steps)()]
        if len(step_list) != n:
            raise InvalidParameterError(f"log_batch got {n} values but {len(step_list)} steps")
        ts = now_ms()
        self.ctx.buffer.extend(
            [(run_id, key, v, s, ts) for v, s in zip(vals, step_list, strict=True)]
        )

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.ctx.flush()
        return self.ctx.metadata.get_metric_history(run_id, key)

    # -- artifacts --------------------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> ArtifactRecord:
        path = Path(local_path)
        if not path.exists():
            raise NotFoundError(f"cannot log artifact: {path} does not exist", path=str(path))
        dest = art.join(artifact_path, path.name)
        if path.is_dir():
            info = self.ctx.objects.put_dir(path)
            kind = "dir"
        else:
            info = self.ctx.objects.put_file(path)
            kind = "file"
        return self._record(run_id, dest, info.hash, info.size, kind)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> ArtifactRecord:
        path = Path(local_dir)
        if not path.is_dir():
            raise InvalidParameterError(f"log_artifacts takes a folder; {path} is not one")
        dest = (
            art.clean_artifact_path(artifact_path) if artifact_path else art.join(None, path.name)
        )
        info = self.ctx.objects.put_dir(path)
        return self._record(run_id, dest, info.hash, info.size, "dir")

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> ArtifactRecord:
        dest = art.clean_artifact_path(artifact_file)
        info = self.ctx.objects.put_bytes(data)
        return self._record(run_id, dest, info.hash, info.size, "file")

    def _record(
        self, run_id: str, path: str, object_hash: str, size: int, kind: str
    ) -> ArtifactRecord:
        self.ctx.metadata.record_artifact(run_id, path, object_hash, size, kind)
        return ArtifactRecord(path, object_hash, size, kind, now_ms())

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactRecord]:
        """Artifacts under ``path``; inside a logged folder, its files (from the manifest)."""
        prefix = art.clean_artifact_path(path, allow_root=True)
        records = self.ctx.metadata.list_artifacts(run_id)
        if not prefix:
            return records
        out = [r for r in records if r.path == prefix or r.path.startswith(prefix + "/")]
        if out and not (len(out) == 1 and out[0].kind == "dir" and out[0].path == prefix):
            return out
        rec, inner = art.find(records, prefix, run_id)
        if rec.kind != "dir":
            return [rec]
        manifest = self.ctx.objects.read_manifest(rec.object_hash)
        base = f"{inner}/" if inner else ""
        return [
            ArtifactRecord(f"{rec.path}/{name}", e.hash, e.size, "file", rec.created_ms)
            for name, e in sorted(manifest.entries.items())
            if name.startswith(base)
        ]

    def download_artifacts(
        self, uri_or_run: str, dest: str | os.PathLike[str], path: str = ""
    ) -> Path:
        """Copy an artifact (file or folder) to ``dest``; returns the local path written."""
        run_id, inner_path = _split_uri(uri_or_run, path)
        self._require_run(run_id)
        dest = Path(dest)
        records = self.ctx.metadata.list_artifacts(run_id)
        objects = self.ctx.objects
        if not inner_path:
            dest.mkdir(parents=True, exist_ok=True)
            for rec in records:
                self._materialize(rec.object_hash, rec.kind, dest / rec.path)
            return dest
        rec, inside = art.find(records, inner_path, run_id)
        target = dest / Path(inner_path).name if dest.is_dir() else dest
        if rec.kind == "file":
            if not inside:
                target = dest / Path(rec.path).name if dest.is_dir() else dest
            return objects.get_file(rec.object_hash, target)
        manifest = objects.read_manifest(rec.object_hash)
        if inside in manifest.entries:
            return objects.get_file(manifest.entries[inside].hash, target)
        if not inside:
            return objects.get_dir(rec.object_hash, target)
        sub = {n: e for n, e in manifest.entries.items() if n.startswith(inside + "/")}
        if not sub:
            raise NotFoundError(f"run {run_id} has no artifact {inner_path!r}")
        for name, entry in sub.items():
            objects.get_file(entry.hash, target / name[len(inside) + 1 :])
        return target

    def _materialize(self, object_hash: str, kind: str, target: Path) -> None:
        if kind == "dir":
            self.ctx.objects.get_dir(object_hash, target)
        else:
            self.ctx.objects.get_file(object_hash, target)

    def load_bytes(self, uri: str) -> bytes:
        run_id, inner_path = _split_uri(uri, "")
        records = self.ctx.metadata.list_artifacts(run_id)
        rec, inside = art.find(records, inner_path, run_id)
        if rec.kind == "file" and not inside:
            return self.ctx.objects.get_bytes(rec.object_hash)
        manifest = self.ctx.objects.read_manifest(rec.object_hash)
        if inside not in manifest.entries:
            raise InvalidParameterError(f"{uri} is a folder; download it with download_artifacts")
        return self.ctx.objects.get_bytes(manifest.entries[inside].hash)

    def load_table(self, uri: str) -> Any:
        """A Parquet artifact as a pandas DataFrame."""
        import io

        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(self.load_bytes(uri))).to_pandas()

    # -- search -----------------------------------------------------------------------------
    def search_runs(
        self,
        experiments: str | Iterable[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunList:
        self.ctx.flush()
        if experiments is None:
            ids = [e.experiment_id for e in self.ctx.metadata.list_experiments()]
        else:
            names = [experiments] if isinstance(experiments, str) else list(experiments)
            ids = [self.resolve_experiment(n).experiment_id for n in names]
        return self.ctx.metadata.search_runs(
            ids, filter, order_by, max_results, page_token, include_deleted
        )


def _is_float_array(values: Any) -> bool:
    dtype = getattr(values, "dtype", None)
    return (
        dtype is not None
        and getattr(dtype, "kind", "") in "fiu"
        and getattr(values, "ndim", 0) == 1
    )


def _split_uri(uri_or_run: str, path: str) -> tuple[str, str]:
    if uri_or_run.startswith("runs:/"):
        parsed = parse_uri(uri_or_run)
        assert isinstance(parsed, RunArtifactURI)
        inner = "/".join(p for p in (parsed.path, path) if p)
        return parsed.run_id, art.clean_artifact_path(inner, allow_root=True)
    return uri_or_run, art.clean_artifact_path(path, allow_root=True)
