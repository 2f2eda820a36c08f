"""``loopml ct``: the continuous-training controller and its decision log.

``run`` is the long-running controller (a pass every ``--interval`` seconds, stopped cleanly by
SIGTERM), ``once`` is one pass for cron; ``trigger`` asks for a retrain by hand; ``history``
and ``status`` answer "why did the model change?".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json, print_note

if TYPE_CHECKING:
    from loopml.ct.controller import Controller
    from loopml.store.metadata.ct_base import CtDecision

app = typer.Typer(
    help="Continuous training: triggers, gates, canary rollout, and the decision log.",
    no_args_is_help=True,
)

PolicyArg = Annotated[str, typer.Argument(help="Policy name ([ct.<name>] in loopml.toml).")]
PoliciesOpt = Annotated[
    Path | None,
    typer.Option(
        "--policies",
        help="A TOML or YAML file of policies (default: loopml.toml and ct.yaml of the project).",
    ),
]
_OUTCOME_STYLE = {"pass": "green", "fail": "red", "wait": "yellow", "info": "cyan"}


def _controller(policies: Path | None, lease_ttl_s: float = 60.0) -> Controller:
    from loopml.ct.controller import Controller
    from loopml.ct.policy import load_policies

    return Controller(load_policies(path=policies), lease_ttl_s=lease_ttl_s)


def _print_decisions(decisions: list[CtDecision], title: str | None = None) -> None:
    table = new_table("when", "run", "step", "outcome", "why", title=title)
    for d in decisions:
        style = _OUTCOME_STYLE.get(d.outcome, "")
        table.add_row(
            human_time(d.ts_ms),
            esc((d.run_id or "")[:8]),
            esc(d.step),
            f"[{style}]{esc(d.outcome)}[/]" if style else esc(d.outcome),
            esc(d.reason),
        )
    console().print(table)


@app.command("run")
def run_command(
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, help="Seconds between passes.")
    ] = 30.0,
    lease_ttl: Annotated[
        float,
        typer.Option("--lease-ttl", min=1.0, help="Seconds a crashed controller's lease lasts."),
    ] = 60.0,
    policies: PoliciesOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Run the controller until SIGTERM or Ctrl-C (its state survives a restart)."""
    use_project(project)
    import logging

    from loopml.ct.loop import run_forever

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    ct_log = logging.getLogger("loopml.ct")
    ct_log.addHandler(handler)
    ct_log.setLevel(logging.INFO)
    controller = _controller(policies, max(lease_ttl, interval * 3))
    names = ", ".join(controller.policies) or "none"
    print_note(f"ct controller {controller.holder}: policies {names}; a pass every {interval:g} s")
    passes = run_forever(controller, interval, on_decisions=_print_decisions)
    print_note(f"ct controller stopped after {passes} passes")


@app.command("once")
def once_command(
    json: JsonOpt = False, policies: PoliciesOpt = None, project: ProjectOpt = None
) -> None:
    """One pass: record new trigger events and move every run as far as it can go."""
    use_project(project)
    controller = _controller(policies)
    try:
        decisions = controller.run_once()
    finally:
        controller.close()
    if json:
        print_json([d.to_dict() for d in decisions])
    elif decisions:
        _print_decisions(decisions)
    else:
        print_note("nothing to do")


@app.command("trigger")
def trigger_command(
    policy: PolicyArg,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the decision log.")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key: the same key twice is one trigger."),
    ] = None,
    json: JsonOpt = False,
    policies: PoliciesOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Ask for a retrain; the controller's next pass starts it."""
    use_project(project)
    event = _controller(policies).trigger(policy, reason, key)
    if json:
        print_json(event.to_dict())
        return
    console().print(f"trigger {esc(event.key)} recorded for {esc(policy)} ({event.status})")


@app.command("history")
def history_command(
    policy: PolicyArg,
    run: Annotated[str | None, typer.Option("--run", help="Only this run (id prefix).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The last N decisions.")] = 200,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Every decision for ``policy``: triggers, gates with numbers, rollout, promote/rollback."""
    use_project(project)
    from loopml.ct.controller import ct_store

    decisions = ct_store().list_decisions(policy, limit=limit)
    if run:
        decisions = [d for d in decisions if (d.run_id or "").startswith(run)]
    if json:
        print_json([d.to_dict() for d in decisions])
        return
    if not decisions:
        print_note(f"no decisions for {policy!r} yet")
        return
    _print_decisions(decisions, title=f"ct {policy}")


@app.command("status")
def status_command(
    json: JsonOpt = False, policies: PoliciesOpt = None, project: ProjectOpt = None
) -> None:
    """Each policy: its current run (state, candidate, champion) and its last outcome."""
    use_project(project)
    from loopml.ct.controller import LEASE, ct_store
    from loopml.ct.policy import load_policies

    store = ct_store()
    rows: list[dict[str, Any]] = []
    for name, policy in load_policies(path=policies).items():
        runs = store.list_runs(name, limit=1)
        last = runs[0] if runs else None
        rows.append(
            {
                "policy": name,
                "deployment": policy.deployment,
                "triggers": [t.describe() for t in policy.triggers],
                "run": last.to_dict() if last else None,
                "pending_events": len(store.list_events(name, status="pending")),
            }
        )
    holder = store.lease_holder(LEASE)
    lease = {"holder": holder[0], "expires_ms": holder[1]} if holder else None
    if json:
        print_json({"policies": rows, "lease": lease})
        return
    table = new_table("policy", "deployment", "run", "state", "candidate", "updated", "outcome")
    for row in rows:
        r = row["run"] or {}
        table.add_row(
            esc(row["policy"]),
            esc(row["deployment"] or "-"),
            esc(str(r.get("run_id") or "-")[:8]),
            esc(r.get("state") or "-"),
            esc(r.get("candidate") or "-"),
            human_time(r.get("updated_ms")),
            esc(r.get("outcome") or ""),
        )
    console().print(table)
    if lease:
        print_note(f"controller lease held by {lease['holder']}")
