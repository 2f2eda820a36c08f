"""``loopml monitor``: windows over a deployment's payload log, the HTML report, labels.

``status`` computes the windows that closed since last time (each once) and shows the last
ones; ``report`` writes them as one HTML page; ``feedback`` stores ground truth by request id.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json, print_note

if TYPE_CHECKING:
    from loopml.monitoring.windows import WindowResult

app = typer.Typer(
    help="Monitor deployments: drift, errors, latency and accuracy per window.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Deployment name.", show_default=False)]
WindowOpt = Annotated[
    str | None,
    typer.Option(
        "--window", "-w", help="Window length (1h, 15m) or requests=N; default from loopml.toml."
    ),
]
LastOpt = Annotated[int, typer.Option("--last", "-n", help="How many windows to show.", min=1)]


@app.command("status")
def status_command(
    name: NameArg,
    window: WindowOpt = None,
    last: LastOpt = 5,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """The last windows: drift per feature, output drift, errors, latency, accuracy."""
    use_project(project)
    from loopml.monitoring import status

    current = status(name, window=window, last=last)
    if json:
        print_json(current.to_dict())
        return
    if not current.windows:
        print_note(
            f"no closed {current.spec} window for {name} yet: windows close at their end "
            "(check that the deployment logs payloads and has traffic)"
        )
    else:
        console().print(_windows_table(current.windows, current.spec))
        console().print(_features_table(current.windows[-1]))
    if current.alerts:
        table = new_table("when", "alert", "severity", "message", title="Recent alerts")
        for a in reversed(current.alerts[-5:]):
            table.add_row(human_time(a.created_ms), esc(a.name), esc(a.severity), esc(a.message))
        console().print(table)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.2f}%"


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}g}"


def _windows_table(windows: list[WindowResult], spec: str) -> Any:
    table = new_table(
        "start",
        "version",
        "requests",
        "errors",
        "p50/p95/p99 ms",
        "drift",
        "drifted features",
        "output",
        "accuracy",
        title=f"Windows ({spec})",
    )
    for w in windows:
        v = w.values
        output = "-" if "output_drift" not in v else ("DRIFT" if v["output_drift"] else "ok")
        accuracy = _num(v.get("accuracy"))
        if "accuracy_drop" in v:
            accuracy += f" ({-v['accuracy_drop']:+.3f})"
        drifted = ", ".join(w.drifted_features)
        table.add_row(
            human_time(w.start_ms),
            esc(w.model_version),
            f"{w.requests:,}",
            _pct(v.get("error_rate")),
            "/".join(_num(v.get(f"latency_p{q}_ms")) for q in (50, 95, 99)),
            _num(v.get("drift_share"), 2),
            f"[red]{esc(drifted)}[/red]" if drifted else "",
            f"[red]{output}[/red]" if output == "DRIFT" else output,
            accuracy,
        )
    return table


def _features_table(window: WindowResult) -> Any:
    table = new_table(
        "feature", "test", "statistic", "p-value", "rule", "drift", title="Last window, per feature"
    )
    columns = window.metrics.get("input_drift", {}).get("columns", {})
    for name, col in sorted(columns.items(), key=lambda kv: (not kv[1].get("drifted"), kv[0])):
        table.add_row(
            esc(name),
            esc(col.get("test")),
            _num(col.get("statistic"), 4),
            _num(col.get("p_value"), 4),
            esc(col.get("rule")),
            "[red]DRIFT[/red]" if col.get("drifted") else "ok",
        )
    if not columns:
        reason = window.metrics.get("reference", {}).get("reason", "no feature was tested")
        table.add_row("-", "-", "-", "-", "-", esc(reason))
    return table


@app.command("report")
def report_command(
    name: NameArg,
    window: WindowOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "monitor.html"
    ),
    last: LastOpt = 48,
    project: ProjectOpt = None,
) -> None:
    """Write an HTML report of the last windows (charts, drift per feature, skew, quality)."""
    use_project(project)
    from loopml.monitoring import report

    report(name, window=window, out=out, last=last)
    print_note(f"wrote {out}")


@app.command("windows")
def windows_command(
    name: NameArg,
    window: WindowOpt = None,
    requests: Annotated[
        int | None, typer.Option("--requests", help="Cut every N requests instead.", min=1)
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Compute the windows that closed since the last run (each window is computed once)."""
    use_project(project)
    from loopml.monitoring import compute_windows

    made = compute_windows(name, window, requests=requests)
    if json:
        print_json([w.to_dict() for w in made])
        return
    if not made:
        print_note("no new closed window")
        return
    console().print(_windows_table(made, made[0].spec))


@app.command("feedback")
def feedback_command(
    name: NameArg,
    labels: Annotated[
        Path,
        typer.Argument(help="CSV (request_id,label[,row]) or JSON file.", show_default=False),
    ],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Store ground-truth labels by request id; the next windows show accuracy."""
    use_project(project)
    from loopml.monitoring import record_feedback
    from loopml.monitoring.feedback import read_labels_file

    written = record_feedback(name, read_labels_file(labels))
    if json:
        print_json({"deployment": name, "recorded": written})
        return
    print_note(f"recorded {written:,} labels for {name}")


@app.command("liveness")
def liveness_command(
    name: NameArg,
    url: Annotated[str | None, typer.Option("--url", help="Base URL of the server.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 2.0,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Ping the deployment's readiness route; a deployment_down alert fires if it fails."""
    use_project(project)
    from loopml.monitoring import check_liveness

    result = check_liveness(name, url=url, timeout_s=timeout)
    if json:
        print_json(
            {
                "target": result.target,
                "url": result.url,
                "ready": result.ready,
                "status": result.status,
                "latency_ms": result.latency_ms,
                "reason": result.reason,
            }
        )
    else:
        mark = "[green]ready[/green]" if result.ready else f"[red]{esc(result.reason)}[/red]"
        console().print(f"{esc(result.url)}: {mark} ({result.latency_ms:.0f} ms)")
    if not result.ready:
        raise typer.Exit(1)
