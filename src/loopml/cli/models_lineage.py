"""The lineage of a model version as a Rich tree (``loopml models lineage``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.cli._output import esc, human_number

if TYPE_CHECKING:
    from rich.tree import Tree

_STATUS_STYLE = {"READY": "green", "ARCHIVED": "yellow", "DELETED": "red"}


def _status(value: object) -> str:
    text = str(value)
    return f"[{_STATUS_STYLE.get(text, 'white')}]{text}[/]"


def lineage_tree(body: dict[str, Any]) -> Tree:
    from rich.tree import Tree

    m = body["model"]
    aliases = " ".join(f"@{a}" for a in m["aliases"])
    tree = Tree(
        f"[bold]{esc(m['uri'])}[/] {esc(aliases)} {_status(m['status'])} {esc(m['flavor'] or '')}"
    )
    tree.add(f"package obj:{m['package_hash'][:16]}… from {esc(m['source_uri'])}")
    run = body["run"]
    if run is None:
        tree.add("[dim]no run recorded[/]")
    elif run.get("missing"):
        tree.add(f"run {run['run_id']} [red](deleted and purged)[/]")
    else:
        node = tree.add(
            f"run [bold]{esc(run['run_name'])}[/] ({run['run_id']}) in "
            f"{esc(run['experiment_name'] or run['experiment_id'])}, {run['status']}"
        )
        code = body["code"]
        if code:
            dirty = code.get("dirty")
            text = f"code {code.get('commit', '?')[:12]}"
            if dirty:
                text += f" [yellow]dirty[/] (diff {str(code.get('diff_hash', '?'))[:12]})"
            if code.get("source_file"):
                text += f" · {esc(code['source_file'])}"
            node.add(text)
        env = body["environment"]
        if env:
            node.add("environment " + esc(", ".join(f"{k} {v}" for k, v in env.items())))
    if body["params"]:
        params = tree.add("params")
        for k, v in sorted(body["params"].items()):
            params.add(f"{esc(k)} = {esc(v)}")
    if body["metrics"]:
        metrics = tree.add("metrics")
        for k, v in sorted(body["metrics"].items()):
            metrics.add(f"{esc(k)} = {human_number(v) if v is not None else 'nan'}")
    data = tree.add("datasets")
    for d in body["datasets"]:
        data.add(f"{esc(d['uri'])}" + (f" ({esc(d['context'])})" if d["context"] else ""))
    if not body["datasets"]:
        data.add("[dim]none recorded (log them with loopml.log_input)[/]")
    pipe = body["pipeline"]
    if pipe:
        tree.add(
            f"pipeline run {pipe['run_id']}"
            + (f" {esc(pipe.get('pipeline') or '')}" if pipe.get("pipeline") else "")
            + (" [red](missing)[/]" if pipe.get("missing") else "")
        )
    return tree
