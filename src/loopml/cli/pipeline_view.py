"""How pipeline runs look on a terminal: the runs table, a run's DAG as a tree, step rows.

Every function takes the plain dict of ``PipelineRun.to_dict()`` (the same data ``--json``
prints and the server returns), so what a person reads and what a script reads never differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.cli._output import esc, human_duration, human_time, new_table, short_id

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.tree import Tree

__all__ = [
    "STEP_STYLE",
    "dag_tree",
    "failure_hint",
    "params_text",
    "run_header",
    "runs_table",
    "status_text",
    "step_label",
    "steps_table",
]

STEP_STYLE = {
    "FINISHED": "green",
    "CACHED": "green",
    "RUNNING": "cyan",
    "PENDING": "dim",
    "FAILED": "red",
    "SKIPPED": "yellow",
    "KILLED": "yellow",
}


def status_text(status: str) -> str:
    return f"[{STEP_STYLE.get(status, 'white')}]{esc(status)}[/]"


def duration_text(ms: float | None) -> str:
    return "-" if ms is None else human_duration(round(ms))


def cache_text(step: dict[str, Any]) -> str:
    if step.get("cache_hit"):
        return "[green]hit[/]"
    if step.get("status") in ("FINISHED", "FAILED") and step.get("cache_key"):
        return "miss"
    return "-"


def params_text(params: dict[str, Any], limit: int = 80) -> str:
    text = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in params.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def runs_table(runs: list[dict[str, Any]]) -> Table:
    table = new_table("run", "pipeline", "status", "steps", "cache hits", "duration", "started")
    for run in runs:
        steps = run.get("steps") or []
        hits = sum(1 for s in steps if s.get("cache_hit"))
        table.add_row(
            short_id(run["id"]),
            esc(run["pipeline"]),
            status_text(run["status"]),
            str(len(steps)) if steps else "-",
            f"{hits}/{len(steps)}" if steps else "-",
            duration_text(run.get("duration_ms")),
            human_time(run.get("started_ms")),
        )
    return table


def run_header(run: dict[str, Any]) -> list[str]:
    lines = [
        f"[bold]pipeline run {esc(run['id'])}[/] {esc(run['pipeline'])} "
        f"{status_text(run['status'])} in {duration_text(run.get('duration_ms'))} "
        f"({esc(run.get('executor') or 'local')} executor"
        + ("" if run.get("use_cache", True) else ", no cache")
        + ")",
    ]
    if run.get("params"):
        lines.append(f"  params  {esc(params_text(run['params'], 200))}")
    if run.get("ref"):
        lines.append(f"  source  {esc(run['ref'])}")
    for uri in run.get("registered") or []:
        lines.append(f"  registered [bold]{esc(uri)}[/]")
    return lines


def step_label(step: dict[str, Any]) -> str:
    parts = [f"[bold]{esc(step['name'])}[/]", status_text(step["status"])]
    if step.get("duration_ms") is not None and step["status"] != "CACHED":
        parts.append(duration_text(step["duration_ms"]))
    if step.get("cache_hit"):
        parts.append("[green]cache hit[/]")
    if (step.get("attempts") or 0) > 1:
        parts.append(f"[yellow]{step['attempts']} attempts[/]")
    return "  ".join(parts)


def dag_tree(run: dict[str, Any]) -> Tree:
    """Steps as a tree: each step under the last of its upstream steps to run (its other
    upstream steps are named), so a chain reads top to bottom and branches fan out."""
    from rich.tree import Tree

    steps = {s["name"]: s for s in run["steps"]}
    order = list(steps)
    tree = Tree(f"[bold]{esc(run['pipeline'])}[/]", guide_style="dim")
    nodes: dict[str, Tree] = {}
    for name in order:
        step = steps[name]
        ups = [u for u in step.get("upstream") or [] if u in steps]
        label = step_label(step)
        if len(ups) > 1:
            parent_name = max(ups, key=order.index)
            others = [u for u in ups if u != parent_name]
            label += f"  [dim](also needs {esc(', '.join(others))})[/]"
        parent = nodes.get(max(ups, key=order.index)) if ups else None
        nodes[name] = (parent or tree).add(label)
        if step.get("error") and step["status"] == "FAILED":
            nodes[name].add(f"[red]{esc(first_lines(step['error']))}[/]")
    return tree


def steps_table(run: dict[str, Any]) -> Table:
    table = new_table("step", "status", "duration", "cache", "attempts", "after", "run")
    for step in run["steps"]:
        table.add_row(
            esc(step["name"]),
            status_text(step["status"]),
            "-" if step["status"] == "CACHED" else duration_text(step.get("duration_ms")),
            cache_text(step),
            str(step.get("attempts") or "-"),
            esc(", ".join(step.get("upstream") or [])) or "-",
            short_id(step["run_id"]) if step.get("run_id") else "-",
        )
    return table


def first_lines(text: str, lines: int = 6) -> str:
    kept = text.strip().splitlines()
    out = "\n".join(kept[:lines])
    return out + (" …" if len(kept) > lines else "")


def failure_hint(run: dict[str, Any]) -> RenderableType | None:
    """The failed step's error and how to continue, for a FAILED run."""
    if run["status"] != "FAILED":
        return None
    from rich.text import Text

    failed = next((s for s in run["steps"] if s["status"] == "FAILED"), None)
    text = Text()
    if failed is not None:
        text.append(f"step {failed['name']} failed: ", style="bold red")
        text.append(first_lines(failed.get("error") or run.get("error") or "", 12), style="red")
    else:
        text.append(f"the run failed: {run.get('error') or ''}", style="red")
    text.append(f"\nfix it, then: loopml pipeline resume {short_id(run['id'])}", style="dim")
    return text
