"""Lineage: from a model version back through steps and artifacts to dataset versions.

Edges are recorded per pipeline run as (src, dst) node ids: ``data:/n/3 -> step:<run>/<node>``,
``step -> obj:<hash>``, ``obj:<hash> -> step`` and ``step -> models:/m/4``. A model's lineage
is the part of its pipeline run's graph that leads to it, walked backwards.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.errors import NotFoundError

if TYPE_CHECKING:
    from loopml.pipeline.runner import _Runner
    from loopml.store.metadata.pipeline_base import PipelineStore
    from loopml.store.metadata.registry_entities import ModelVersion

__all__ = ["LineageGraph", "lineage", "lineage_of", "upstream_datasets"]


@dataclass
class LineageGraph:
    """Nodes (``id``, ``kind`` and details) and edges (``src`` -> ``dst``), JSON-ready."""

    root: str
    pipeline_run_id: str | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "pipeline_run_id": self.pipeline_run_id,
            "nodes": self.nodes,
            "edges": self.edges,
        }

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [n for n in self.nodes if n["kind"] == kind]


def upstream_datasets(runner: _Runner, name: str) -> list[str]:
    """Pinned data URIs read by ``name`` or any step it depends on."""
    seen: set[str] = set()
    queue = deque([name])
    found: dict[str, None] = {}
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        for uri in runner.node_datasets.get(current, []):
            found[uri] = None
        queue.extend(runner.graph.nodes[current].upstream)
    return list(found)


def _kind(node_id: str) -> str:
    if node_id.startswith("data:/"):
        return "dataset"
    if node_id.startswith("models:/"):
        return "model"
    if node_id.startswith("obj:"):
        return "artifact"
    return "step"


def lineage(model_version_uri: str) -> LineageGraph:
    """The steps, artifacts and dataset versions that led to a registered model version
    (``models:/churn/4`` or ``models:/churn@champion``), with the process's stores."""
    from loopml.pipeline._stores import pipeline_store
    from loopml.registry.api import get_model_version

    return lineage_of(get_model_version(model_version_uri), pipeline_store())


def lineage_of(version: ModelVersion, store: PipelineStore) -> LineageGraph:
    """:func:`lineage` for a resolved version and an explicit store (the server's)."""
    root = version.uri
    into = store.edges_into(root)
    graph = LineageGraph(root=root)
    model_node: dict[str, Any] = {
        "id": root,
        "kind": "model",
        "name": version.name,
        "version": version.version,
        "package_hash": version.package_hash,
        "run_id": version.run_id,
    }
    if not into and version.run_id:
        # Registered from a step's own run (e.g. the best tuning trial's train step): the
        # model comes out of that step.
        made_by = store.step_of_run(version.run_id)
        if made_by is not None:
            into = [(made_by[0], f"step:{made_by[0]}/{made_by[1]}", root)]
    if not into:
        graph.nodes.append(model_node)
        return graph
    pipeline_run_id = into[-1][0]
    graph.pipeline_run_id = pipeline_run_id
    try:
        record, steps = store.get_run(pipeline_run_id)
    except NotFoundError:
        graph.nodes.append(model_node)
        return graph
    reverse: dict[str, list[str]] = {}
    for src, dst in [*store.edges(pipeline_run_id), *[(e[1], e[2]) for e in into[-1:]]]:
        if src not in reverse.get(dst, []):
            reverse.setdefault(dst, []).append(src)
    by_step = {f"step:{pipeline_run_id}/{s.name}": s for s in steps}
    outputs = {o["hash"]: (s.name, i, o) for s in steps for i, o in enumerate(s.outputs)}
    seen = {root}
    queue = deque([root])
    edges: dict[tuple[str, str], None] = {}
    while queue:
        current = queue.popleft()
        for src in reverse.get(current, []):
            edges[(src, current)] = None
            if src not in seen:
                seen.add(src)
                queue.append(src)
    graph.nodes.append(model_node)
    for node_id in sorted(seen - {root}):
        kind = _kind(node_id)
        node: dict[str, Any] = {"id": node_id, "kind": kind}
        if kind == "step":
            s = by_step.get(node_id)
            if s is not None:
                node.update(
                    name=s.name,
                    step=s.step,
                    status=s.status,
                    cache_hit=s.cache_hit,
                    run_id=s.run_id,
                    pipeline=record.pipeline,
                )
        elif kind == "artifact":
            digest = node_id[len("obj:") :]
            found = outputs.get(digest)
            node["hash"] = digest
            if found is not None:
                node.update(
                    step=found[0],
                    index=found[1],
                    materializer=found[2]["materializer"],
                    type=found[2].get("type"),
                )
        elif kind == "dataset":
            name, _, number = node_id[len("data:/") :].rpartition("/")
            node.update(name=name, version=int(number) if number.isdigit() else None)
        graph.nodes.append(node)
    graph.edges = [{"src": s, "dst": d} for s, d in edges]
    return graph
