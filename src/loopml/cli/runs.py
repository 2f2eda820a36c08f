"""``loopml runs``: list (search), show, compare, delete and restore runs."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from loopml.cli._common import JsonOpt, ProjectOpt, client, resolve_run, use_project
from loopml.cli._output import (
    STATUS_STYLE,
    console,
    esc,
    human_duration,
    human_number,
    human_size,
    human_time,
    new_table,
    now_ms,
    print_json,
    short_id,
)
from loopml.errors import NotFoundError

if TYPE_CHECKING:
    from rich.console import Console

    from loopml.store.metadata.entities import ArtifactRecord, Run
    from loopml.tracking.client import TrackingClient

app = typer.Typer(help="Search, inspect, compare, delete and restore runs.", no_args_is_help=True)

RunIdArg = Annotated[
    str, typer.Argument(help="Run id (or a unique prefix of it).", show_default=False)
]

# Metric names where a smaller value is the better one (everything else: larger is better).
_LOWER_IS_BETTER = re.compile(
    r"(^|[._\-/])(loss|logloss|log_loss|error|err|mse|rmse|mae|mape|deviance|perplexity|"
    r"latency|time|seconds|duration|cost|regret|brier)($|[._\-/])",
    re.IGNORECASE,
)
_KEY_IN_EXPR = re.compile(r"\b(metrics|params)\.(`[^`]+`|\"[^\"]+\"|[A-Za-z0-9_\-./]+)")
_PROVENANCE = (
    ("loopml.git.commit", "git commit"),
    ("loopml.git.branch", "git branch"),
    ("loopml.git.dirty", "git dirty"),
    ("loopml.git.diff_hash", "diff hash"),
    ("loopml.source.file", "source file"),
    ("loopml.python.version", "python"),
    ("loopml.python.implementation", "implementation"),
    ("loopml.platform", "platform"),
    ("loopml.host", "host"),
    ("loopml.user", "user"),
)


def lower_is_better(metric: str) -> bool:
    return bool(_LOWER_IS_BETTER.search(metric))


def _status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _duration(run: Run) -> str:
    if run.end_ms is None:
        return (
            f"{human_duration(now_ms() - run.start_ms)}…" if str(run.status) == "RUNNING" else "-"
        )
    return human_duration(run.duration_ms)


def _experiment_names(tc: TrackingClient) -> dict[str, str]:
    return {e.experiment_id: e.name for e in tc.ctx.metadata.list_experiments(include_deleted=True)}


def _run_json(run: Run, experiments: dict[str, str]) -> dict[str, Any]:
    body = run.to_dict()
    body["experiment_name"] = experiments.get(run.experiment_id)
    body["duration_ms"] = run.duration_ms
    return body


def _preferred_keys(exprs: list[str], kind: str) -> list[str]:
    keys: list[str] = []
    for expr in exprs:
        for found_kind, key in _KEY_IN_EXPR.findall(expr):
            key = key.strip('`"')
            if found_kind == kind and key not in keys:
                keys.append(key)
    return keys


def _pick_keys(runs: list[Run], kind: str, preferred: list[str], limit: int) -> list[str]:
    """Columns worth showing: keys the filter/order mention, then keys whose values vary
    between the listed runs, then the most common ones."""
    values: dict[str, set[Any]] = {}
    counts: Counter[str] = Counter()
    for run in runs:
        for key, value in getattr(run, kind).items():
            counts[key] += 1
            values.setdefault(key, set()).add(str(value))
    keys = [k for k in preferred if k in counts]
    ranked = sorted(counts, key=lambda k: (len(values[k]) < 2, -counts[k], k))
    keys += [k for k in ranked if k not in keys]
    return keys[:limit]


# -- list -----------------------------------------------------------------------------------
@app.command("list")
def list_runs(
    experiment: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment", "-e", help="Experiment name or id (repeatable); default: all."
        ),
    ] = None,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            "-f",
            help="Filter, e.g. \"metrics.auc > 0.9 and params.model = 'rf'\" (docs/cli.md).",
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help='Sort key, e.g. "metrics.loss ASC" (repeatable).'),
    ] = None,
    max_results: Annotated[
        int, typer.Option("--max-results", "-n", min=1, max=50_000, help="Runs per page.")
    ] = 100,
    page_token: Annotated[
        str | None, typer.Option("--page-token", help="Token printed by the previous page.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include deleted runs.")] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """List runs, newest first unless --order-by says otherwise."""
    use_project(project)
    tc = client()
    runs = tc.search_runs(
        experiment or None,
        filter=filter_,
        order_by=order_by or None,
        max_results=max_results,
        page_token=page_token,
        include_deleted=all_,
    )
    names = _experiment_names(tc)
    if json:
        print_json(
            {
                "runs": [_run_json(r, names) for r in runs],
                "next_page_token": runs.next_page_token,
            }
        )
        return
    out = console()
    if not runs:
        out.print("No runs match." if filter_ else "No runs yet.")
        return
    show_experiment = len({r.experiment_id for r in runs}) > 1
    # As many param/metric columns as fit beside the fixed ones (metrics first), at most 4 + 3.
    show_start = not out.is_terminal or out.width >= 100
    fixed = 62 + (18 if show_start else 0) + (19 if show_experiment else 0)
    budget = max(1, (out.width - fixed) // 13) if out.is_terminal else 7
    exprs = [filter_ or "", *(order_by or [])]
    metric_keys = _pick_keys(runs, "metrics", _preferred_keys(exprs, "metrics"), min(4, budget))
    n_params = min(3, max(0, budget - len(metric_keys)))
    param_keys = _pick_keys(runs, "params", _preferred_keys(exprs, "params"), n_params)
    clash = set(metric_keys) & set(param_keys)
    table = new_table()
    table.add_column("run id", no_wrap=True, min_width=8)
    table.add_column("name", no_wrap=True, max_width=24, overflow="ellipsis")
    if show_experiment:
        table.add_column("experiment", no_wrap=True, max_width=16, overflow="ellipsis")
    table.add_column("status", no_wrap=True, min_width=8)
    if show_start:
        table.add_column("start", no_wrap=True)
    table.add_column("duration", no_wrap=True, justify="right")
    for key in param_keys:
        table.add_column(
            f"params.{key}" if key in clash else key,
            style="cyan",
            max_width=16,
            overflow="ellipsis",
            no_wrap=True,
        )
    for key in metric_keys:
        header = f"metrics.{key}" if key in clash else key
        table.add_column(header, style="magenta", justify="right", no_wrap=True)
    for run in runs:
        row = [short_id(run.run_id), esc(run.run_name)]
        if show_experiment:
            row.append(esc(names.get(run.experiment_id, run.experiment_id)))
        status = _status_text(str(run.status))
        if str(run.lifecycle_stage) == "deleted":
            status += " [red](deleted)[/]"
        row.append(status)
        if show_start:
            row.append(human_time(run.start_ms, seconds=False))
        row.append(_duration(run))
        row += [esc(run.params.get(k, "")) for k in param_keys]
        row += [human_number(run.metrics[k], 4) if k in run.metrics else "" for k in metric_keys]
        table.add_row(*row)
    out.print(table)
    if runs.next_page_token:
        out.print(f"More runs: add [bold]--page-token {runs.next_page_token}[/]")


# -- show -----------------------------------------------------------------------------------
def _kv_table(title: str, items: list[tuple[str, str]]) -> Any:
    table = new_table("key", "value", title=title, show_header=False)
    for key, value in items:
        table.add_row(f"[bold]{esc(key)}[/]", value)
    return table


def _provenance(tags: dict[str, str]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, label in _PROVENANCE:
        if key in tags:
            value = tags[key]
            if key == "loopml.git.dirty" and value == "true":
                items.append((label, "[yellow]yes (uncommitted changes)[/]"))
            else:
                items.append((label, esc(value)))
    if "loopml.packages" in tags:
        try:
            versions = orjson.loads(tags["loopml.packages"])
            text = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        except (orjson.JSONDecodeError, AttributeError):
            text = tags["loopml.packages"]
        items.append(("packages", esc(text)))
    return items


_SHOWN_TAGS = {k for k, _ in _PROVENANCE} | {"loopml.packages", "loopml.note"}


def _artifact_rows(records: list[ArtifactRecord]) -> list[dict[str, Any]]:
    return [
        {
            "path": r.path,
            "kind": r.kind,
            "size": r.size,
            "hash": r.object_hash,
            "created_ms": r.created_ms,
        }
        for r in records
    ]


@app.command("show")
def show(run_id: RunIdArg, json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """Everything about one run: params, metrics, provenance, tags, artifacts."""
    use_project(project)
    tc = client()
    run = resolve_run(tc, run_id)
    names = _experiment_names(tc)
    artifacts = tc.list_artifacts(run.run_id)
    parent: Run | None = None
    if run.parent_run_id:
        try:
            parent = tc.get_run(run.parent_run_id)
        except NotFoundError:
            parent = None
    from loopml.data import inputs_of_run

    inputs = inputs_of_run(run.run_id)
    if json:
        body = _run_json(run, names)
        body["artifacts"] = _artifact_rows(artifacts)
        body["inputs"] = [i.to_dict() for i in inputs]
        print_json(body)
        return
    _print_run(console(), run, names, artifacts, parent)
    if inputs:
        table = new_table("dataset", "context", title="Inputs")
        for item in inputs:
            table.add_row(esc(f"data:/{item.name}/{item.version}"), esc(item.context))
        console().print(table)


def _print_run(
    out: Console,
    run: Run,
    names: dict[str, str],
    artifacts: list[ArtifactRecord],
    parent: Run | None,
) -> None:
    status = _status_text(str(run.status))
    if str(run.lifecycle_stage) == "deleted":
        status += f"  [red]deleted[/] (restore: loopml runs restore {run.run_id})"
    summary: list[tuple[str, str]] = [
        ("run id", run.run_id),
        ("name", f"[bold]{esc(run.run_name)}[/]"),
        ("experiment", f"{esc(names.get(run.experiment_id, '?'))} ({run.experiment_id})"),
        ("status", status),
    ]
    if run.status_message:
        summary.append(("message", esc(run.status_message)))
    summary += [
        ("started", human_time(run.start_ms)),
        ("ended", human_time(run.end_ms)),
        ("duration", _duration(run)),
    ]
    if run.parent_run_id:
        label = f"{run.parent_run_id}" + (f" ({esc(parent.run_name)})" if parent else " (gone)")
        summary.append(("parent", label))
    if run.user:
        summary.append(("user", esc(run.user)))
    if "loopml.note" in run.tags:
        summary.append(("note", esc(run.tags["loopml.note"])))
    out.print(_kv_table("Run", summary))

    if run.params:
        out.print(_kv_table("Params", [(k, esc(v)) for k, v in sorted(run.params.items())]))
    if run.metrics:
        out.print(
            _kv_table(
                "Metrics (latest)",
                [(k, human_number(v)) for k, v in sorted(run.metrics.items())],
            )
        )
    provenance = _provenance(run.tags)
    if provenance:
        out.print(_kv_table("Provenance", provenance))
    other = sorted((k, v) for k, v in run.tags.items() if k not in _SHOWN_TAGS)
    if other:
        out.print(_kv_table("Tags", [(k, esc(v)) for k, v in other]))
    if artifacts:
        table = new_table("path", "kind", "size", "hash", title="Artifacts")
        for rec in artifacts:
            table.add_row(esc(rec.path), rec.kind, human_size(rec.size), rec.object_hash[:12])
        out.print(table)
        out.print(f"List or fetch them: loopml artifacts ls runs:/{run.run_id}/")
    else:
        out.print("[dim]No artifacts.[/]")


# -- compare --------------------------------------------------------------------------------
def _best(values: dict[str, float], metric: str) -> list[str]:
    """The run ids holding the best value of ``metric`` (ties share it); [] if all are equal."""
    finite = {rid: v for rid, v in values.items() if v == v}
    if len(finite) < 2 or len(set(finite.values())) < 2:
        return []
    target = (min if lower_is_better(metric) else max)(finite.values())
    return [rid for rid, v in finite.items() if v == target]


@app.command("compare")
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (or unique prefixes).")],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Params and metrics of runs side by side; differing rows highlighted, best value marked."""
    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two run ids", param_hint="RUN_IDS")
    use_project(project)
    tc = client()
    runs: list[Run] = []
    for rid in run_ids:
        run = resolve_run(tc, rid)
        if all(r.run_id != run.run_id for r in runs):
            runs.append(run)
    ids = [r.run_id for r in runs]
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    params = {k: {r.run_id: r.params.get(k) for r in runs} for k in param_keys}
    metrics = {k: {r.run_id: r.metrics.get(k) for r in runs} for k in metric_keys}
    best = {
        k: b
        for k in metric_keys
        if (b := _best({rid: v for rid, v in metrics[k].items() if v is not None}, k))
    }
    differs = [f"params.{k}" for k in param_keys if len(set(params[k].values())) > 1] + [
        f"metrics.{k}" for k in metric_keys if _differs(list(metrics[k].values()))
    ]
    if json:
        names = _experiment_names(tc)
        print_json(
            {
                "runs": [_run_json(r, names) for r in runs],
                "params": params,
                "metrics": metrics,
                "best": best,
                "lower_is_better": {k: lower_is_better(k) for k in metric_keys},
                "differs": differs,
            }
        )
        return
    table = new_table("", title="Compare runs")
    for run in runs:
        table.add_column(f"{short_id(run.run_id)}\n{esc(run.run_name)}", overflow="fold")
    table.add_row("[dim]status[/]", *[_status_text(str(r.status)) for r in runs])
    table.add_row("[dim]duration[/]", *[_duration(r) for r in runs])
    commits = [r.tags.get("loopml.git.commit", "")[:10] for r in runs]
    if any(commits):
        table.add_row(*_row("git commit", commits, len(set(commits)) > 1))
    if param_keys:
        table.add_section()
    for key in param_keys:
        values = [params[key][rid] for rid in ids]
        cells = [esc(v) if v is not None else "—" for v in values]
        table.add_row(*_row(f"params.{key}", cells, f"params.{key}" in differs))
    if metric_keys:
        table.add_section()
    for key in metric_keys:
        cells = []
        for rid in ids:
            value = metrics[key][rid]
            cell = "—" if value is None else human_number(value)
            if rid in best.get(key, []):
                cell = f"[bold green]{cell} ★[/]"
            cells.append(cell)
        arrow = "↓" if lower_is_better(key) else "↑"
        table.add_row(*_row(f"metrics.{key} {arrow}", cells, f"metrics.{key}" in differs))
    out = console()
    out.print(table)
    out.print(
        "[dim]★ best value (↑ higher is better, ↓ lower is better); differing rows in yellow[/]"
    )


def _differs(values: list[float | None]) -> bool:
    seen = {"nan" if v is not None and v != v else v for v in values}
    return len(seen) > 1


def _row(label: str, cells: list[str], differ: bool) -> list[str]:
    if not differ:
        return [label, *cells]
    return [f"[bold yellow]{esc(label)}[/]", *[f"[bold yellow]{c}[/]" for c in cells]]


# -- delete / restore -----------------------------------------------------------------------
@app.command("delete")
def delete(run_id: RunIdArg, project: ProjectOpt = None) -> None:
    """Delete a run (soft: restorable until `loopml gc` purges it)."""
    use_project(project)
    tc = client()
    run = resolve_run(tc, run_id)
    tc.ctx.metadata.delete_run(run.run_id)
    console().print(
        f"Deleted run [bold]{esc(run.run_name)}[/] ({run.run_id}). Undo with "
        f"`loopml runs restore {run.run_id}`; `loopml gc` purges it for good."
    )


@app.command("restore")
def restore(run_id: RunIdArg, project: ProjectOpt = None) -> None:
    """Restore a deleted run."""
    use_project(project)
    tc = client()
    run = resolve_run(tc, run_id)
    tc.ctx.metadata.restore_run(run.run_id)
    console().print(f"Restored run [bold]{esc(run.run_name)}[/] ({run.run_id})")
