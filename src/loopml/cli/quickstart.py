"""``loopml quickstart``: a demo project with real runs to explore in five minutes.

It trains a few scikit-learn classifiers on the bundled breast-cancer data (no download) and
logs each as a run of experiment ``quickstart``: params, per-iteration metric curves, test
metrics, a predictions table, a ROC curve figure, the classification report and tags. Running it
again adds runs. The whole thing takes a few seconds on a laptop.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._common import ProjectOpt, global_project
from loopml.cli._output import console, esc, is_terminal, new_table
from loopml.cli.init import init_project
from loopml.errors import InvalidStateError

if TYPE_CHECKING:
    from rich.progress import Progress

EXPERIMENT = "quickstart"
MODEL_NAME = "quickstart-classifier"
DEFAULT_DIR = Path("demo-project")
SEED = 42
TEST_SIZE = 0.25


@dataclass
class Spec:
    """One model to train: its run name, family, params and how to build it."""

    run_name: str
    model: str
    params: dict[str, Any]
    build: Callable[[], Any]
    description: str


@dataclass
class Trained:
    run_id: str
    run_name: str
    model: str
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _specs() -> list[Spec]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    specs: list[Spec] = []
    for c in (0.01, 0.1, 1.0):
        specs.append(
            Spec(
                f"logreg-C{c:g}",
                "logistic_regression",
                {"C": c, "max_iter": 5000, "scaler": "standard"},
                partial(make_pipeline, StandardScaler(), LogisticRegression(C=c, max_iter=5000)),
                f"Standardised logistic regression, inverse regularisation C={c:g}",
            )
        )
    for depth in (3, 8):
        specs.append(
            Spec(
                f"random-forest-depth{depth}",
                "random_forest",
                {"n_estimators": 100, "max_depth": depth},
                partial(
                    RandomForestClassifier,
                    n_estimators=100,
                    max_depth=depth,
                    random_state=SEED,
                    n_jobs=1,
                ),
                f"Random forest of 100 trees of depth <= {depth}",
            )
        )
    specs.append(
        Spec(
            "gradient-boosting",
            "gradient_boosting",
            {"n_estimators": 150, "learning_rate": 0.1, "max_depth": 3},
            partial(
                GradientBoostingClassifier,
                n_estimators=150,
                learning_rate=0.1,
                max_depth=3,
                random_state=SEED,
            ),
            "Gradient-boosted trees, 150 stages",
        )
    )
    return specs


def _curves(model: Any, spec: Spec, x_test: Any, y_test: Any) -> dict[str, Any]:
    """Metric curves per training step where the model has steps (trees, boosting stages)."""
    import numpy as np
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    curves: dict[str, Any] = {}
    if spec.model == "gradient_boosting":
        proba = [p[:, 1] for p in model.staged_predict_proba(x_test)]
        curves["train_loss"] = np.asarray(model.train_score_, dtype=float)
        curves["test_loss"] = np.array([log_loss(y_test, p, labels=[0, 1]) for p in proba])
    elif spec.model == "random_forest":
        x = np.asarray(x_test)
        per_tree = np.array([tree.predict_proba(x)[:, 1] for tree in model.estimators_])
        proba = list(np.cumsum(per_tree, axis=0) / np.arange(1, len(per_tree) + 1)[:, None])
    else:
        return curves
    curves["test_accuracy"] = np.array([accuracy_score(y_test, p >= 0.5) for p in proba])
    curves["test_auc"] = np.array([roc_auc_score(y_test, p) for p in proba])
    return curves


def _roc_figure(y_test: Any, proba: Any, title: str, auc: float) -> Any:
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y_test, proba)
    fig = Figure(figsize=(4.5, 4.0), dpi=100)
    ax = fig.subplots()
    ax.plot(fpr, tpr, lw=2, label=f"AUC = {auc:.4f}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC: {title}")
    ax.legend(loc="lower right")
    return fig


def _train_one(spec: Spec, data: dict[str, Any], plots: bool, dataset: Any = None) -> Trained:
    import numpy as np
    import pandas as pd
    from sklearn.metrics import (
        accuracy_score,
        classification_report,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    import loopml

    x_train, x_test, y_train, y_test = (
        data["x_train"],
        data["x_test"],
        data["y_train"],
        data["y_test"],
    )
    with loopml.start_run(
        run_name=spec.run_name,
        description=spec.description,
        tags={
            "model": spec.model,
            "dataset": "sklearn.datasets.load_breast_cancer",
            "created_by": "loopml quickstart",
        },
    ) as run:
        loopml.log_params(
            {
                "model": spec.model,
                **spec.params,
                "seed": SEED,
                "test_size": TEST_SIZE,
                "n_train": len(x_train),
                "n_test": len(x_test),
                "n_features": x_train.shape[1],
            }
        )
        if dataset is not None:
            loopml.log_input(dataset, context="training")
        started = time.perf_counter()
        model = spec.build()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - started

        proba = model.predict_proba(x_test)[:, 1]
        pred = (proba >= 0.5).astype(int)
        metrics = {
            "test_accuracy": float(accuracy_score(y_test, pred)),
            "test_auc": float(roc_auc_score(y_test, proba)),
            "test_f1": float(f1_score(y_test, pred)),
            "test_precision": float(precision_score(y_test, pred)),
            "test_recall": float(recall_score(y_test, pred)),
            "test_loss": float(log_loss(y_test, proba, labels=[0, 1])),
            "fit_seconds": seconds,
        }
        curves = _curves(model, spec, x_test, y_test)
        last_step = max((len(v) for v in curves.values()), default=0)
        for key, values in curves.items():
            loopml.log_batch(key, values, np.arange(1, len(values) + 1))
        loopml.log_metrics({k: v for k, v in metrics.items() if k not in curves}, step=last_step)
        if spec.model == "logistic_regression":
            loopml.log_metric("n_iter", int(np.max(model[-1].n_iter_)))

        loopml.log_table(
            pd.DataFrame(
                {
                    "row": np.asarray(x_test.index),
                    "y_true": np.asarray(y_test),
                    "y_pred": pred,
                    "p_benign": proba,
                }
            ),
            "predictions",
        )
        loopml.log_dict(
            classification_report(
                y_test, pred, target_names=[str(n) for n in data["target_names"]], output_dict=True
            ),
            "classification_report.json",
        )
        loopml.log_model(model, "model", input_example=x_test.head(5))
        if plots:
            loopml.log_figure(
                _roc_figure(y_test, proba, spec.run_name, metrics["test_auc"]), "roc_curve.png"
            )
        return Trained(run.run_id, spec.run_name, spec.model, metrics, seconds)


def _load_data() -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    bunch = load_breast_cancer(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(
        bunch.data, bunch.target, test_size=TEST_SIZE, random_state=SEED, stratify=bunch.target
    )
    return {
        "x_train": x_train,
        "x_test": x_test,
        "y_train": y_train,
        "y_test": y_test,
        "target_names": bunch.target_names,
    }


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def _progress(total: int) -> Iterator[tuple[Progress, Any]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(),
        disable=not is_terminal(),
        transient=True,
    )
    with progress:
        task = progress.add_task("training", total=total)
        yield progress, task


def quickstart_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", "-d", help="Project folder to create or reuse.", show_default="demo-project"
        ),
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Create a demo project and log a handful of real training runs to explore."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise InvalidStateError(
            "quickstart trains scikit-learn models, which are not installed: "
            "pip install 'loopml[sklearn,plots]'"
        ) from None
    import loopml

    target = directory or project or global_project(ctx) or DEFAULT_DIR
    out = console()
    init = init_project(target)
    loopml.configure(init.root)
    loopml.set_experiment(EXPERIMENT)
    out.print(
        f"{'Created' if init.created else 'Using'} project [bold]{esc(init.root)}[/]; "
        f"logging to experiment [bold]{EXPERIMENT}[/]"
    )
    plots = _have_matplotlib()
    if not plots:
        out.print(
            "[yellow]note:[/] matplotlib is not installed, so no ROC figures: "
            "pip install 'loopml[plots]'"
        )

    from loopml.cli import quickstart_loop as loop

    started = time.perf_counter()
    data = _load_data()
    dataset = loop.version_training_data(init.root, data)
    out.print(f"  [green]✓[/] training data versioned as data:/{dataset.name}/{dataset.version}")
    specs = _specs()
    trained: list[Trained] = []
    with _progress(len(specs)) as (progress, task):
        for spec in specs:
            progress.update(task, description=f"training {spec.run_name}")
            result = _train_one(spec, data, plots, dataset)
            trained.append(result)
            progress.advance(task)
            out.print(
                f"  [green]✓[/] {esc(result.run_name):<24} auc {result.metrics['test_auc']:.4f}  "
                f"accuracy {result.metrics['test_accuracy']:.4f}  fit {result.seconds:.2f}s  "
                f"[dim]{result.run_id}[/]"
            )
    loopml.flush()
    best = max(trained, key=lambda t: (t.metrics["test_auc"], -t.metrics["test_loss"]))
    model_uri, version = loop.register_best(best.run_id)
    champion = loopml.load_model(model_uri)
    champion.predict(data["x_test"].head(5))
    out.print(f"  [green]✓[/] {esc(best.run_name)} registered as {MODEL_NAME} v{version} @champion")
    schema_path, drift_path, drifted, anomalies = loop.check_new_batch(init.root, data)
    out.print(
        f"  [green]✓[/] a shifted new batch: {anomalies} schema anomalies, "
        f"{len(drifted)} drifted columns ({esc(', '.join(drifted))}); report: {esc(drift_path)}"
    )
    elapsed = time.perf_counter() - started
    _print_summary(trained, target, elapsed)
    _print_loop_steps(target, model_uri, drift_path, schema_path)


def _print_summary(trained: list[Trained], target: Path, elapsed: float) -> None:
    out = console()
    ranked = sorted(trained, key=lambda t: (-t.metrics["test_auc"], t.metrics["test_loss"]))
    table = new_table(
        "#",
        "run id",
        "name",
        "test_auc",
        "test_accuracy",
        "test_f1",
        title=f"{len(trained)} runs logged in {elapsed:.1f}s, ranked by test AUC",
    )
    for i, t in enumerate(ranked, 1):
        table.add_row(
            str(i),
            t.run_id,
            esc(t.run_name),
            f"{t.metrics['test_auc']:.4f}",
            f"{t.metrics['test_accuracy']:.4f}",
            f"{t.metrics['test_f1']:.4f}",
        )
    out.print(table)

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


def _print_loop_steps(target: Path, model_uri: str, drift_path: Path, schema_path: Path) -> None:
    out = console()
    c = shlex.quote(str(target))
    steps = [
        ("the registered model and where it came from", f"loopml models show -C {c} {MODEL_NAME}"),
        ("", f"loopml models lineage -C {c} {model_uri}"),
        ("a model card for reviewers", f"loopml models card -C {c} {model_uri} -o card.html"),
        ("the versioned training data", f"loopml data log -C {c} breast-cancer"),
        ("the drift report of the shifted batch", f"open {shlex.quote(str(drift_path))}"),
        ("the schema to edit and validate with", f"{shlex.quote(str(schema_path))}"),
    ]
    out.print("\n[bold]The loop so far[/]")
    for label, command in steps:
        if label:
            out.print(f"  [dim]# {label}[/]")
        out.print(f"  {esc(command)}", soft_wrap=True)
