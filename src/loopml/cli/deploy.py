"""``loopml deploy``: named, versioned serving configurations (canary, A/B, shadow).

Every change makes a new configuration version and an audit record; ``rollback`` goes back to
an earlier one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli._common import JsonOpt, ProjectOpt, use_project
from loopml.cli._output import console, esc, human_time, new_table, print_json, print_note

if TYPE_CHECKING:
    from loopml.store.metadata.deployments_base import DeploymentRecord

app = typer.Typer(
    help="Deploy registered models: canary, A/B, shadow, promote, roll back.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Deployment name.", show_default=False)]
CanaryOpt = Annotated[
    str | None, typer.Option("--canary", help="Model URI that gets --canary-weight % of traffic.")
]
CanaryWeightOpt = Annotated[
    int | None, typer.Option("--canary-weight", help="Percent of traffic for the canary.")
]
AbOpt = Annotated[str | None, typer.Option("--ab", help="Model URI of the B side of an A/B test.")]
SplitOpt = Annotated[int | None, typer.Option("--split", help="Percent of traffic for B.")]
StickyOpt = Annotated[
    str | None,
    typer.Option("--sticky-header", help="Header whose value keeps a user on one side (A/B)."),
]
ShadowOpt = Annotated[
    list[str] | None,
    typer.Option("--shadow", help="Model URI that sees a copy of every request (repeatable)."),
]
BatchingOpt = Annotated[
    bool | None,
    typer.Option("--batching/--no-batching", help="Merge concurrent requests.", show_default=False),
]
MaxBatchOpt = Annotated[int | None, typer.Option("--max-batch-size", help="Rows per predict.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Worker processes.", min=1)]
PayloadOpt = Annotated[
    bool | None,
    typer.Option(
        "--payload-logging/--no-payload-logging",
        help="Log every request and response for monitoring.",
        show_default=False,
    ),
]


@app.command("create")
def create_command(
    name: NameArg,
    model: Annotated[str, typer.Option("--model", help="Model URI of the main route.")],
    canary: CanaryOpt = None,
    canary_weight: CanaryWeightOpt = None,
    ab: AbOpt = None,
    split: SplitOpt = None,
    sticky_header: StickyOpt = None,
    shadow: ShadowOpt = None,
    batching: BatchingOpt = None,
    max_batch_size: MaxBatchOpt = None,
    workers: WorkersOpt = None,
    payload_logging: PayloadOpt = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Create a deployment: one model, or a canary, or an A/B test; optionally shadows."""
    use_project(project)
    from loopml.serving.deployments import create_deployment

    record = create_deployment(
        name,
        model,
        canary=canary,
        canary_weight=10 if canary_weight is None else canary_weight,
        ab=ab,
        split=50 if split is None else split,
        sticky_header=sticky_header,
        shadows=shadow,
        batching=True if batching is None else batching,
        max_batch_size=max_batch_size or 256,
        workers=workers or 1,
        payload_logging=True if payload_logging is None else payload_logging,
    )
    _done(record, json, "created")


@app.command("update")
def update_command(
    name: NameArg,
    model: Annotated[str | None, typer.Option("--model", help="New main model URI.")] = None,
    canary: CanaryOpt = None,
    canary_weight: CanaryWeightOpt = None,
    ab: AbOpt = None,
    split: SplitOpt = None,
    sticky_header: StickyOpt = None,
    shadow: ShadowOpt = None,
    clear_shadows: Annotated[
        bool, typer.Option("--clear-shadows", help="Remove every shadow target.")
    ] = False,
    batching: BatchingOpt = None,
    max_batch_size: MaxBatchOpt = None,
    workers: WorkersOpt = None,
    payload_logging: PayloadOpt = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Change a deployment (a new configuration version); --canary-weight 0 ends a canary."""
    use_project(project)
    from loopml.serving.deployments import update_deployment

    record = update_deployment(
        name,
        model=model,
        canary=canary,
        canary_weight=canary_weight,
        ab=ab,
        split=split,
        sticky_header=sticky_header,
        shadows=[] if clear_shadows else shadow,
        batching=batching,
        max_batch_size=max_batch_size,
        workers=workers,
        payload_logging=payload_logging,
    )
    _done(record, json, "updated")


@app.command("promote")
def promote_command(
    name: NameArg,
    route: Annotated[
        str | None, typer.Option("--route", help="Route to promote (default: canary, else b).")
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Make the canary (or an A/B side) the only route, at 100% of traffic."""
    use_project(project)
    from loopml.serving.deployments import promote_deployment

    _done(promote_deployment(name, route), json, "promoted")


@app.command("rollback")
def rollback_command(
    name: NameArg,
    to_version: Annotated[
        int | None, typer.Option("--to-version", help="Configuration version to go back to.")
    ] = None,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """Go back to the previous configuration (or --to-version N), as a new version."""
    use_project(project)
    from loopml.serving.deployments import rollback_deployment

    _done(rollback_deployment(name, to_version), json, "rolled back")


@app.command("list")
def list_command(json: JsonOpt = False, project: ProjectOpt = None) -> None:
    """Every deployment with its current routes."""
    use_project(project)
    from loopml.serving.deployments import list_deployments

    records = list_deployments()
    if json:
        print_json([r.to_dict() for r in records])
        return
    if not records:
        print_note("no deployments yet: create one with `loopml deploy create NAME --model URI`")
        return
    table = new_table("name", "version", "routes", "shadows", "updated")
    for r in records:
        table.add_row(
            esc(r.name),
            str(r.version),
            esc(_routes_text(r)),
            str(len(r.config.get("shadows", []))),
            human_time(r.created_ms),
        )
    console().print(table)


@app.command("show")
def show_command(
    name: NameArg,
    history: Annotated[
        bool, typer.Option("--history", help="Every configuration version.")
    ] = False,
    json: JsonOpt = False,
    project: ProjectOpt = None,
) -> None:
    """A deployment's routes, weights, shadows and live counters per route."""
    use_project(project)
    from loopml.serving.deployments import deployment_counters, deployment_history, get_deployment

    record = get_deployment(name)
    counters = deployment_counters(name)
    versions = deployment_history(name) if history else []
    if json:
        body = record.to_dict()
        body["counters"] = [c.to_dict() for c in counters]
        if history:
            body["history"] = [v.to_dict() for v in versions]
        print_json(body)
        return
    out = console()
    cfg = record.config
    out.print(f"[bold]{esc(name)}[/] version {record.version} ({esc(record.message or '')})")
    table = new_table("route", "model", "weight", "requests", "errors", "mean ms", "log dropped")
    by_route = {c.route: c for c in counters}
    for route in cfg["routes"]:
        c = by_route.get(route["name"])
        mean = f"{c.latency_ms_sum / c.requests:.2f}" if c and c.requests else "-"
        table.add_row(
            esc(route["name"]),
            esc(route["model"]),
            f"{route['weight']}%",
            str(c.requests if c else 0),
            str(c.errors if c else 0),
            mean,
            str(c.dropped if c else 0),
        )
    for uri in cfg.get("shadows", []):
        c = by_route.get(f"shadow:{uri}")
        table.add_row(
            "shadow",
            esc(uri),
            "copy",
            str(c.requests if c else 0),
            str(c.errors if c else 0),
            "-",
            str(c.dropped if c else 0),
        )
    out.print(table)
    if cfg.get("sticky_header"):
        out.print(f"sticky header: {esc(cfg['sticky_header'])}")
    batching = cfg.get("batching", {})
    out.print(
        f"batching {'on' if batching.get('enabled', True) else 'off'} (max "
        f"{batching.get('max_batch_size', 256)} rows); workers {cfg.get('workers', 1)}; "
        f"payload logging {'on' if cfg.get('payload_logging', True) else 'off'}"
    )
    if history:
        hist = new_table("version", "change", "user", "when", "routes")
        for v in versions:
            hist.add_row(
                ("* " if v.current else "") + str(v.version),
                esc(v.message or ""),
                esc(v.user or ""),
                human_time(v.created_ms),
                esc(_routes_text(v)),
            )
        out.print(hist)


def _routes_text(record: DeploymentRecord) -> str:
    return ", ".join(
        f"{r['name']}={r['model']} ({r['weight']}%)" for r in record.config.get("routes", [])
    )


def _done(record: DeploymentRecord, json: bool, verb: str) -> None:
    if json:
        print_json(record.to_dict())
        return
    console().print(
        f"{verb} deployment [bold]{esc(record.name)}[/] (configuration version "
        f"{record.version}): {esc(_routes_text(record))}"
    )


@app.command("serve")
def serve_command(
    name: NameArg,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
    workers: WorkersOpt = None,
    reload_interval: Annotated[
        float,
        typer.Option(
            "--reload-interval",
            help="Seconds between checks for a new configuration or alias target (0: never).",
            min=0,
        ),
    ] = 1.0,
    project: ProjectOpt = None,
) -> None:
    """Serve a deployment: its routes side by side, traffic split, shadows, payload log.

    A new configuration version (update, promote, rollback) or an alias that moves (e.g.
    @champion) is loaded, smoke-tested and switched to while serving, without failed requests.
    """
    use_project(project)
    from loopml.cli._output import err_console
    from loopml.serving.deploy_app import serve_deployment
    from loopml.tracking.context import get_context

    root = str(get_context().settings.root)
    err_console().print(
        f"serving deployment [bold]{esc(name)}[/] on [bold]http://{esc(host)}:{port}[/] "
        "(/invocations, /v2). Ctrl-C stops it."
    )
    serve_deployment(
        name,
        host=host,
        port=port,
        workers=workers,
        project=root,
        reload_interval_s=reload_interval,
    )


@app.command("export")
def export_command(
    name: NameArg,
    to: Annotated[str, typer.Option("--to", help="Target platform: kubernetes.")] = "kubernetes",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the manifests.")] = Path(
        "k8s"
    ),
    image_prefix: Annotated[
        str, typer.Option("--image-prefix", help="Registry prefix of the model images.")
    ] = "",
    replicas: Annotated[int, typer.Option("--replicas", help="Pods in all.", min=1)] = 2,
    max_replicas: Annotated[int, typer.Option("--max-replicas", help="HPA ceiling.", min=1)] = 10,
    kserve: Annotated[
        bool, typer.Option("--kserve/--no-kserve", help="Also write a KServe InferenceService.")
    ] = True,
    project: ProjectOpt = None,
) -> None:
    """Write Kubernetes manifests (Deployment, Service, HPA, KServe InferenceService).

    Images are the ones `loopml models dockerfile URI` builds, tagged <prefix><model>:<version>.
    """
    use_project(project)
    from loopml.errors import InvalidParameterError
    from loopml.serving.config import DeploymentConfig
    from loopml.serving.deployments import get_deployment
    from loopml.serving.kubernetes import export_kubernetes

    if to != "kubernetes":
        raise InvalidParameterError(f"--to supports kubernetes, got {to!r}")
    config = DeploymentConfig.from_dict(get_deployment(name).config)
    files = export_kubernetes(
        name,
        config,
        out,
        image_prefix=image_prefix,
        replicas=replicas,
        max_replicas=max_replicas,
        kserve=kserve,
    )
    for path in files:
        console().print(f"wrote {esc(path)}")
