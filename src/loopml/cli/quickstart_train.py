"""The loop's first stages: customer data v1, the project's pipeline and policy, the champion.

The champion is trained the way every later model is: by running the project's own pipeline
file on a pinned data version, so the CT controller's retrain later is the same code on newer
data, and the two are comparable step by step (``loopml pipeline runs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.cli._output import esc, new_table
from loopml.cli.quickstart_data import DATASET, SHIFTED, TARGET, customers
from loopml.cli.quickstart_project import MODEL, PIPELINE_REF, write_pipeline, write_policy
from loopml.cli.quickstart_stages import PartMissingError, Stage

if TYPE_CHECKING:
    from loopml.cli.quickstart_demo import LoopState

__all__ = ["add_customers", "data_v1", "project_files", "run_training", "train_v1"]


def add_customers(root: Path, frame: Any, message: str) -> Any:
    """Write the customer table to ``data/customers.parquet`` and version it."""
    import loopml.data

    folder = root / "data"
    folder.mkdir(exist_ok=True)
    path = folder / f"{DATASET}.parquet"
    tmp = folder / f".{DATASET}.parquet.tmp"
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return loopml.data.add(path, name=DATASET, message=message)


def data_v1(state: LoopState, stage: Stage) -> None:
    import loopml.data
    from loopml.errors import NotFoundError

    try:
        state.seed = len(loopml.data.list_versions(DATASET))  # a rerun brings new customers
    except NotFoundError:
        state.seed = 0
    frame = customers(state.profile.rows, seed=1000 + state.seed)
    version = add_customers(state.root, frame, "customers as of the first snapshot")
    state.data_v1 = f"data:/{version.name}/{version.version}"
    plans = frame["plan"].value_counts().to_dict()
    stage.say(
        f"{len(frame)} customers, {frame.shape[1] - 1} features, churn rate "
        f"{frame[TARGET].mean():.1%}; plans: " + ", ".join(f"{k} {v}" for k, v in plans.items())
    )
    stage.say(
        "mean monthly_charges {:.1f}, tenure_months {:.1f}, support_calls {:.2f}".format(
            *(frame[c].mean() for c in SHIFTED)
        )
    )
    stage.done(f"{state.data_v1} ({len(frame)} rows)")


def project_files(state: LoopState, stage: Stage) -> None:
    import loopml

    pipeline_file = write_pipeline(state.root)
    toml = write_policy(state.root, state.profile)
    loopml.configure(state.root)  # settings are read once: read the new [monitor] table
    try:
        from loopml.ct import load_policies
    except ImportError as exc:
        raise PartMissingError(f"loopml.ct is not available ({exc})") from None
    policies = load_policies(state.root)
    policy = policies["churn"]
    stage.say(
        f"{esc(pipeline_file.relative_to(state.root))}: ingest -> validate -> split -> "
        "train -> evaluate -> register_if(auc >= 0.7)"
    )
    stage.say(
        f"{esc(toml.name)} {esc('[ct.churn]')}: triggers "
        + ", ".join(t.describe() for t in policy.triggers)
        + f"; gates min_improvement {policy.gates.min_improvement:g}, max_slice_regression "
        f"{policy.gates.max_slice_regression:g} by {policy.gates.slice_column}; canary "
        f"{policy.rollout.canary_weight}% until {policy.rollout.min_requests} requests"
    )
    stage.say(
        f"{esc('[monitor.churn-prod]')}: a window every {state.profile.window} requests; alert when "
        "more than 30% of the features drift, or accuracy drops 5 points, in 2 windows in a row"
    )
    stage.done(f"{PIPELINE_REF}, policy ct.churn, monitoring of churn-prod")


def run_training(root: Path, dataset: str) -> Any:
    """Run the project's pipeline on ``dataset``; the finished ``PipelineRun``."""
    try:
        from loopml.pipeline import run_pipeline
    except ImportError as exc:
        raise PartMissingError(f"loopml.pipeline is not available ({exc})") from None
    file, _, func = PIPELINE_REF.partition(":")
    return run_pipeline(f"{root / file}:{func}", {"dataset": dataset})


def print_steps(run: Any) -> None:
    from loopml.cli._output import console

    table = new_table("step", "status", "cached", "seconds")
    for step in run.steps.values():
        table.add_row(
            esc(step.name),
            esc(str(step.status)),
            "yes" if step.cache_hit else "no",
            f"{step.duration_ms / 1000:.2f}" if step.duration_ms is not None else "",
        )
    console().print(table)


def train_v1(state: LoopState, stage: Stage) -> None:
    import loopml
    from loopml.errors import InvalidStateError

    run = run_training(state.root, state.data_v1)
    print_steps(run)
    if str(run.status) != "FINISHED":
        raise InvalidStateError(f"pipeline run {run.id} ended {run.status}: {run.error}")
    if not run.registered:
        raise InvalidStateError(f"pipeline run {run.id} registered no model (gate failed)")
    uri = str(run.registered[-1])
    version = loopml.get_model_version(uri)
    metrics = run.output("evaluate")
    stage.say(
        f"pipeline run {run.id[:8]}: holdout AUC {metrics['auc']:.4f}, accuracy "
        f"{metrics['accuracy']:.4f}; registered {uri}"
    )
    result = loopml.promote(
        MODEL, version.version, "champion", approve=True, reason="first model: quickstart"
    )
    state.champion = f"models:/{MODEL}/{version.version}"
    state.outcome.champion_before = version.version
    stage.say(f"approved as [bold]models:/{MODEL}@champion[/] (moved: {result.moved})")
    stage.done(
        f"{state.champion} @champion, AUC {metrics['auc']:.4f}",
    )
