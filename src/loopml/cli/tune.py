"""``loopml tune <ref> --space space.yaml``: search a pipeline's parameters with Optuna.

Each trial is a pipeline run with the trial's parameters (over ``--config`` and ``-p``, which
fix the others), tracked as a nested run under one tuning run; ``--parallel`` trials run at a
time on the process pool or Ray. The trials are printed best first; ``--register NAME``
registers the best trial's model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from loopml.cli._common import JsonOpt
from loopml.cli._output import console, esc, human_number, new_table, print_json, short_id, status
from loopml.cli.pipeline import ConfigOpt, ParamOpt, RefArg, params_of
from loopml.errors import InvalidParameterError

__all__ = ["tune_command"]

_STATE_STYLE = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red"}


def _fixed(config: Path | None, param: list[str] | None) -> dict[str, Any]:
    from loopml.pipeline.params import read_config

    fixed: dict[str, Any] = read_config(config) if config is not None else {}
    fixed.update(params_of(param))
    return fixed


def _result_dict(result: Any, registered: str | None) -> dict[str, Any]:
    from dataclasses import asdict

    best = result.best_trial if result.completed else None
    return {
        "run_id": result.run_id,
        "metric": result.metric,
        "direction": result.direction,
        "best": None if best is None else asdict(best),
        "registered": registered,
        "trials": [asdict(t) for t in result.trials],
    }


def _print(data: dict[str, Any]) -> None:
    out = console()
    sign = 1.0 if data["direction"] == "maximize" else -1.0
    trials = sorted(
        data["trials"],
        key=lambda t: (t["value"] is None, -sign * (t["value"] or 0.0), t["number"]),
    )
    names = sorted({k for t in trials for k in t["params"]})
    table = new_table("trial", "state", data["metric"], *names, "time", "run")
    for t in trials:
        style = _STATE_STYLE.get(t["state"], "white")
        table.add_row(
            str(t["number"]),
            f"[{style}]{t['state']}[/]",
            "-" if t["value"] is None else human_number(t["value"], 4),
            *(esc(t["params"].get(n, "-")) for n in names),
            f"{t['duration_s']:.1f}s",
            short_id(t["run_id"]),
        )
    out.print(table)
    best = data["best"]
    if best is not None:
        params = ", ".join(f"{k}={v}" for k, v in best["params"].items())
        out.print(
            f"best: trial {best['number']} {esc(data['metric'])}="
            f"{human_number(best['value'], 6)} with {esc(params)} (run {best['run_id']})"
        )
    out.print(f"tuning run {data['run_id']}: `loopml runs show {short_id(data['run_id'])}`")
    if data["registered"]:
        out.print(f"registered [bold]{esc(data['registered'])}[/]")


def tune_command(
    ref: RefArg,
    space: Annotated[
        Path,
        typer.Option("--space", "-s", help="The search space (YAML): name: {type, low, high}."),
    ],
    trials: Annotated[int, typer.Option("--trials", "-n", min=1, help="How many trials.")] = 20,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, help="Trials running at the same time.")
    ] = 1,
    executor: Annotated[
        str, typer.Option("--executor", "-e", help="Where trials run: process, ray or local.")
    ] = "process",
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            "-m",
            help="The metric to optimise (a key of the evaluation step's dict).",
            show_default=False,
        ),
    ] = None,
    minimize: Annotated[
        bool, typer.Option("--minimize", help="Lower is better (default: maximize).")
    ] = False,
    sampler: Annotated[
        str, typer.Option("--sampler", help="tpe, random, cmaes, qmc or gp.")
    ] = "tpe",
    pruner: Annotated[
        str, typer.Option("--pruner", help="median, percentile, hyperband, halving or none.")
    ] = "median",
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the sampler.", show_default=False)
    ] = None,
    param: ParamOpt = None,
    config: ConfigOpt = None,
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            help="Register the best trial's model under this name.",
            show_default=False,
        ),
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", help="Track in this experiment.", show_default=False),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Search a pipeline's parameters: trials in parallel, best trial reported (and registered)."""
    from loopml.pipeline import load_pipeline
    from loopml.pipeline.tune import tune

    if executor not in ("process", "ray", "local"):
        raise InvalidParameterError(
            f"unknown executor {executor!r}: choose one of process, ray, local"
        )
    pipe = load_pipeline(ref)
    with status(f"tuning {pipe.name}: {trials} trials, {parallel} at a time on {executor}"):
        result = tune(
            pipe,
            space,
            n_trials=trials,
            parallel=parallel,
            executor=executor,
            direction="minimize" if minimize else "maximize",
            metric=metric,
            sampler=sampler,
            pruner=None if pruner == "none" else pruner,
            seed=seed,
            experiment=experiment,
            params=_fixed(config, param),
        )
    registered = None
    if register is not None:
        registered = result.register(register).uri
    data = _result_dict(result, registered)
    if json_out:
        print_json(data)
    else:
        _print(data)
