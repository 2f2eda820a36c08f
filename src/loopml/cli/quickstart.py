"""``loopml quickstart``: the whole MLOps loop on a demo project, start to finish, in minutes.

First a tour of experiment tracking: six scikit-learn classifiers on the bundled breast-cancer
data, logged as runs of experiment ``quickstart`` (running it again adds runs). Then the loop
on a synthetic customer-churn table: a versioned dataset, a pipeline that trains, evaluates and
registers, a champion served in the background, client traffic, a shift in the customers that
monitoring catches, and the continuous-training controller retraining, gating, rolling out a
canary and promoting it while traffic keeps flowing. Nothing to download, no server to start.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._common import ProjectOpt, global_project
from loopml.cli._output import console, esc
from loopml.cli.init import init_project
from loopml.cli.quickstart_runs import Tour, Trained
from loopml.errors import InvalidStateError

EXPERIMENT = "quickstart"
MODEL_NAME = "quickstart-classifier"
DEFAULT_DIR = Path("demo-project")


def quickstart_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", "-d", help="Project folder to create or reuse.", show_default="demo-project"
        ),
    ] = None,
    short: Annotated[
        bool,
        typer.Option(
            "--short",
            help="A smaller loop (less data and traffic, a lower canary bar), as the tests run it.",
        ),
    ] = False,
    loop_: Annotated[
        bool,
        typer.Option(
            "--loop/--no-loop",
            help="Run the serving, monitoring and continuous-training loop after the tour.",
        ),
    ] = True,
    project: ProjectOpt = None,
) -> None:
    """Create a demo project and run the whole loop: runs, pipeline, serving, drift, retraining."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise InvalidStateError(
            "quickstart trains scikit-learn models, which are not installed: "
            "pip install 'loopml[sklearn,plots]'"
        ) from None
    import loopml
    from loopml.cli import quickstart_runs
    from loopml.cli.quickstart_stages import Stages

    target = directory or project or global_project(ctx) or DEFAULT_DIR
    out = console()
    init = init_project(target)
    loopml.configure(init.root)
    loopml.set_experiment(EXPERIMENT)
    out.print(
        f"{'Created' if init.created else 'Using'} project [bold]{esc(init.root)}[/]; "
        f"logging to experiment [bold]{EXPERIMENT}[/]"
    )
    plots = quickstart_runs.have_matplotlib()
    if not plots:
        out.print(
            "[yellow]note:[/] matplotlib is not installed, so no ROC figures: "
            "pip install 'loopml[plots]'"
        )
    stages = Stages()
    with stages.stage("experiment tracking") as stage:
        tour = quickstart_runs.run_tour(init.root, plots)
        best = tour.ranked[0]
        stage.done(
            f"{len(tour.trained)} runs; best {best.run_name} (AUC "
            f"{best.metrics['test_auc']:.4f}) registered as {MODEL_NAME} v{tour.version}"
        )
    outcome = None
    if loop_:
        from loopml.cli.quickstart_demo import run_loop
        from loopml.cli.quickstart_project import FULL, SHORT

        outcome = run_loop(init.root, stages, SHORT if short else FULL)
    stages.summary()
    if outcome is not None:
        outcome.print_timing()
    _print_summary(tour, target)
    _print_loop_steps(target, tour)
    if outcome is not None:
        outcome.print_next(target)
        if outcome.failed:
            raise typer.Exit(1)


def _print_summary(tour: Tour, target: Path) -> None:
    out = console()
    ranked = tour.ranked
    trained = tour.trained
    c = shlex.quote(str(target))
    best = ranked[0]
    by_family: dict[str, Trained] = {}
    for t in ranked:
        by_family.setdefault(t.model, t)
    compare_ids = " ".join(t.run_id for t in by_family.values())
    aucs = sorted(t.metrics["test_auc"] for t in trained)
    threshold = math.floor(aucs[len(aucs) // 2] * 1000) / 1000
    # double quotes: the filter's own string literals are single-quoted
    filt = f"\"metrics.test_auc >= {threshold} and params.model != 'random_forest'\""
    steps = [
        (
            "every run, best first",
            f'loopml runs list -C {c} -e {EXPERIMENT} --order-by "metrics.test_auc DESC"',
        ),
        ("search with a filter", f"loopml runs list -C {c} --filter {filt}"),
        ("one run in full", f"loopml runs show -C {c} {best.run_id}"),
        ("the best of each model, side by side", f"loopml runs compare -C {c} {compare_ids}"),
        ("its files", f"loopml artifacts ls -C {c} runs:/{best.run_id}/"),
        ("fetch one", f"loopml artifacts get -C {c} runs:/{best.run_id}/predictions.parquet ."),
    ]
    out.print("\n[bold]What to type next[/]")
    for label, command in steps:
        out.print(f"  [dim]# {label}[/]")
        out.print(f"  {esc(command)}", soft_wrap=True)
    out.print(
        "\n[dim]# or in Python:[/]\n"
        f"  import loopml; loopml.configure({str(target)!r})\n"
        f"  loopml.search_runs({EXPERIMENT!r}, order_by=['metrics.test_auc DESC']).to_pandas()",
        soft_wrap=True,
    )


def _print_loop_steps(target: Path, tour: Tour) -> None:
    out = console()
    model_uri, drift_path, schema_path = tour.model_uri, tour.drift_path, tour.schema_path
    c = shlex.quote(str(target))
    steps = [
        ("the registered model and where it came from", f"loopml models show -C {c} {MODEL_NAME}"),
        ("", f"loopml models lineage -C {c} {model_uri}"),
        ("a model card for reviewers", f"loopml models card -C {c} {model_uri} -o card.html"),
        ("the versioned training data", f"loopml data log -C {c} breast-cancer"),
        ("the drift report of the shifted batch", f"open {shlex.quote(str(drift_path))}"),
        ("the schema to edit and validate with", f"{shlex.quote(str(schema_path))}"),
    ]
    out.print("\n[bold]The tour's model, its data and a drift report[/]")
    for label, command in steps:
        if label:
            out.print(f"  [dim]# {label}[/]")
        out.print(f"  {esc(command)}", soft_wrap=True)
