"""``loopml lineage models:/churn/4``: from a model version back through steps to its data.

The pipeline records each run's graph as edges (dataset version -> step -> artifact -> step ->
model version); this command walks them backwards from the model and draws the result as a
tree whose leaves are the dataset versions the model was trained from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, print_json, print_note, short_id
from loopml.cli.pipeline_view import status_text

if TYPE_CHECKING:
    from rich.tree import Tree

__all__ = ["lineage_command", "lineage_tree"]


def _label(node: dict[str, Any]) -> str:
    kind = node["kind"]
    if kind == "model":
        return f"[bold]{esc(node['id'])}[/] model"
    if kind == "dataset":
        return f"[bold magenta]{esc(node['id'])}[/] dataset version"
    if kind == "step":
        name = node.get("name") or node["id"].rpartition("/")[2]
        parts = [f"step [bold]{esc(name)}[/]"]
        if node.get("status"):
            parts.append(status_text(node["status"]))
        if node.get("cache_hit"):
            parts.append("[green]cache hit[/]")
        if node.get("run_id"):
            parts.append(f"[dim]run {short_id(node['run_id'])}[/]")
        return "  ".join(parts)
    if kind == "artifact":
        what = node.get("type") or "object"
        how = node.get("materializer")
        return (
            f"artifact {esc(what)}"
            + (f" ({esc(how)})" if how else "")
            + (f" [dim]obj:{node.get('hash', node['id'][4:])[:12]}[/]")
        )
    return esc(node["id"])


def lineage_tree(graph: dict[str, Any]) -> Tree:
    """The graph as a tree rooted at the model; each node's children are what it came from.

    A node reached twice (a dataset two steps read) is drawn in full once and named after.
    """
    from rich.tree import Tree

    nodes = {n["id"]: n for n in graph["nodes"]}
    sources: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        sources.setdefault(edge["dst"], []).append(edge["src"])
    root = graph["root"]
    tree = Tree(_label(nodes.get(root, {"id": root, "kind": "model"})), guide_style="dim")
    drawn: set[str] = {root}

    def order(node_id: str) -> tuple[int, str]:
        node = nodes.get(node_id, {})
        return (0 if node.get("materializer") == "model" else 1, node_id)

    def draw(current: str, branch: Tree) -> None:
        for src in sorted(sources.get(current, []), key=order):
            node = nodes.get(src, {"id": src, "kind": "?"})
            if src in drawn:
                branch.add(_label(node) + " [dim](see above)[/]")
                continue
            drawn.add(src)
            draw(src, branch.add(_label(node)))

    draw(root, tree)
    return tree


def lineage_command(
    uri: Annotated[
        str, typer.Argument(help="A model version: models:/NAME/VERSION or models:/NAME@ALIAS.")
    ],
    json_out: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Where a model version came from: steps, artifacts and dataset versions."""
    from loopml.pipeline.lineage import lineage

    use_project(project)
    graph = lineage(uri).to_dict()
    if json_out:
        print_json(graph)
        return
    out = console()
    if graph.get("pipeline_run_id"):
        out.print(f"pipeline run {esc(graph['pipeline_run_id'])}")
    out.print(lineage_tree(graph))
    datasets = [n["id"] for n in graph["nodes"] if n["kind"] == "dataset"]
    if not graph.get("pipeline_run_id"):
        print_note(
            f"{uri} was not registered by a pipeline run: see `loopml models lineage {uri}` "
            "for its run, parameters and logged datasets"
        )
    elif not datasets:
        print_note("no dataset version in its pipeline: pass data as data:/NAME@latest to a step")
