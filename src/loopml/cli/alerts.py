"""``loopml alerts``: the alert history and the rules in force for a deployment."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json, print_note

app = typer.Typer(help="Monitoring alerts: history, rules, evaluation.", no_args_is_help=True)


@app.command("list")
def list_command(
    deployment: Annotated[
        str | None, typer.Argument(help="Only this deployment.", show_default=False)
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Only this alert (input_drift, latency, ...).")
    ] = None,
    last: Annotated[int, typer.Option("--last", "-n", help="Newest N alerts.", min=1)] = 50,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Fired alerts, newest last."""
    use_project(project)
    from loopml.monitoring import list_alerts

    alerts = list_alerts(deployment, name=name, limit=last)
    if json:
        print_json([a.to_dict() for a in alerts])
        return
    if not alerts:
        print_note("no alerts")
        return
    table = new_table("id", "when", "deployment", "alert", "severity", "value", "message")
    for a in alerts:
        value = "-" if a.value is None else f"{a.value:.4g}"
        color = "red" if a.severity == "critical" else "yellow"
        table.add_row(
            str(a.id),
            human_time(a.created_ms),
            esc(a.deployment),
            esc(a.name),
            f"[{color}]{esc(a.severity)}[/{color}]",
            value,
            esc(a.message),
        )
    console().print(table)


@app.command("rules")
def rules_command(
    deployment: Annotated[str, typer.Argument(help="Deployment name.", show_default=False)],
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """The rules in force: the defaults and [monitor.<deployment>] rules in loopml.toml."""
    use_project(project)
    from loopml.monitoring import alert_rules
    from loopml.monitoring.config import load_config

    rules = alert_rules(deployment)
    config = load_config(deployment)
    if json:
        print_json(
            {
                "deployment": deployment,
                "cooldown_ms": config.cooldown_ms,
                "webhook": config.webhook,
                "rules": [
                    {
                        "rule": r.text,
                        "alert": r.name,
                        "metric": r.metric,
                        "op": r.op,
                        "threshold": r.threshold,
                        "windows": r.windows,
                        "severity": r.severity,
                    }
                    for r in rules
                ],
            }
        )
        return
    table = new_table("alert", "rule", "severity", title=f"Alert rules of {deployment}")
    for r in rules:
        table.add_row(esc(r.name), esc(r.text), esc(r.severity))
    console().print(table)
    cooldown = config.cooldown_ms // 1000
    channels = "log" + (f", webhook {config.webhook}" if config.webhook else "")
    print_note(f"cooldown {cooldown}s per alert; channels: {channels}; window {config.window}")


@app.command("evaluate")
def evaluate_command(
    deployment: Annotated[str, typer.Argument(help="Deployment name.", show_default=False)],
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="An extra rule for this run (repeatable).")
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Compute closed windows, check the rules, fire (and send) what matches."""
    use_project(project)
    from loopml.monitoring import evaluate_alerts
    from loopml.monitoring.channels import sender

    fired = evaluate_alerts(deployment, extra_rules=rule)
    sender().flush(15)
    if json:
        print_json([a.to_dict() for a in fired])
        return
    if not fired:
        print_note("no new alert")
    for a in fired:
        console().print(f"[red]{esc(a.name)}[/red] {esc(a.message)}")
