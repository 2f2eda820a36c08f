"""Where a model version came from: run, params, metrics, code, data, environment, pipeline.

One function, :func:`build_lineage`, reads the version and its run and returns plain JSON; the
CLI draws it as a tree, the model card prints it and the server returns it. A run that has been
deleted and purged leaves the version's own snapshot (params, metrics, datasets) as its record.
"""

from __future__ import annotations

from typing import Any

from loopml.errors import NotFoundError
from loopml.store.metadata.base import MetadataStore
from loopml.store.metadata.registry_entities import ModelVersion

CODE_TAGS = {
    "commit": "loopml.git.commit",
    "branch": "loopml.git.branch",
    "dirty": "loopml.git.dirty",
    "diff_hash": "loopml.git.diff_hash",
    "source_file": "loopml.source.file",
}
ENVIRONMENT_TAGS = {
    "python": "loopml.python.version",
    "platform": "loopml.platform",
    "host": "loopml.host",
}
# Tags a pipeline run may leave on its step runs (the pipeline package writes one of these).
PIPELINE_TAGS = ("loopml.pipeline.run_id", "loopml.pipeline.parent_run_id")
PIPELINE_NAME_TAGS = ("loopml.pipeline.name", "loopml.pipeline")


def _picked(tags: dict[str, str], keys: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, tag in keys.items():
        if tag in tags:
            value: Any = tags[tag]
            if field == "dirty":
                value = value.lower() == "true"
            out[field] = value
    return out


def build_lineage(version: ModelVersion, metadata: MetadataStore) -> dict[str, Any]:
    """The lineage of ``version`` as JSON-ready data."""
    model = {
        "name": version.name,
        "version": version.version,
        "uri": version.uri,
        "status": str(version.status),
        "aliases": list(version.aliases),
        "flavor": version.flavor,
        "package_hash": version.package_hash,
        "source_uri": version.source_uri,
        "registered_by": version.user,
        "created_ms": version.created_ms,
    }
    body: dict[str, Any] = {
        "model": model,
        "run": None,
        "params": dict(version.params),
        "metrics": dict(version.metrics),
        "code": {},
        "environment": {},
        "datasets": [
            {"uri": d.uri, "digest": d.digest, "context": d.context} for d in version.datasets
        ],
        "pipeline": None,
    }
    if version.run_id is None:
        return body
    try:
        run = metadata.get_run(version.run_id)
    except NotFoundError:
        body["run"] = {"run_id": version.run_id, "missing": True}
        return body
    try:
        experiment_name: str | None = metadata.get_experiment(run.experiment_id).name
    except NotFoundError:
        experiment_name = None
    body["run"] = {
        "run_id": run.run_id,
        "run_name": run.run_name,
        "experiment_id": run.experiment_id,
        "experiment_name": experiment_name,
        "status": str(run.status),
        "user": run.user,
        "start_ms": run.start_ms,
        "end_ms": run.end_ms,
        "lifecycle_stage": str(run.lifecycle_stage),
    }
    body["code"] = _picked(run.tags, CODE_TAGS)
    body["environment"] = _picked(run.tags, ENVIRONMENT_TAGS)
    pipeline_run = next((run.tags[t] for t in PIPELINE_TAGS if t in run.tags), None)
    pipeline_run = pipeline_run or run.parent_run_id
    if pipeline_run is not None:
        pipeline: dict[str, Any] = {"run_id": pipeline_run}
        try:
            parent = metadata.get_run(pipeline_run)
            pipeline["run_name"] = parent.run_name
            pipeline["status"] = str(parent.status)
            name = next((parent.tags[t] for t in PIPELINE_NAME_TAGS if t in parent.tags), None)
            pipeline["pipeline"] = name or next(
                (run.tags[t] for t in PIPELINE_NAME_TAGS if t in run.tags), None
            )
        except NotFoundError:
            pipeline["missing"] = True
        body["pipeline"] = pipeline
    return body


def lineage(uri: str) -> dict[str, Any]:
    """The lineage of the version a ``models:/`` URI names, with the process's stores."""
    from loopml.registry._stores import context, registry_store
    from loopml.registry.resolve import resolve_version

    ctx = context()
    return build_lineage(resolve_version(registry_store(ctx), uri), ctx.metadata)
