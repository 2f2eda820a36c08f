"""The tracking tour of ``loopml quickstart``: six scikit-learn classifiers, six tracked runs.

It trains logistic regressions, random forests and gradient boosting on the bundled
breast-cancer data (no download) and logs each as a run of experiment ``quickstart``: params,
per-iteration metric curves, test metrics, a predictions table, a ROC curve figure, the
classification report and tags. Running it again adds runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from loopml.cli._output import console, is_terminal

if TYPE_CHECKING:
    from rich.progress import Progress

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
    """Metric curves per training step where the model has steps (trees, boosting stages).

    Computed with numpy over all steps at once: a scikit-learn metric call per step costs
    more in argument checking than in arithmetic, and there are hundreds of steps."""
    import numpy as np

    y = np.asarray(y_test)
    curves: dict[str, Any] = {}
    if spec.model == "gradient_boosting":
        proba = np.array([p[:, 1] for p in model.staged_predict_proba(x_test)])
        curves["train_loss"] = np.asarray(model.train_score_, dtype=float)
        clipped = np.clip(proba, 1e-15, 1 - 1e-15)
        curves["test_loss"] = -np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped), axis=1)
    elif spec.model == "random_forest":
        x = np.ascontiguousarray(np.asarray(x_test, dtype=np.float32))
        per_tree = []
        for tree in model.estimators_:
            value = tree.tree_.predict(x)[:, : tree.n_classes_]
            per_tree.append(value[:, 1] / value.sum(axis=1))
        proba = np.cumsum(per_tree, axis=0) / np.arange(1, len(per_tree) + 1)[:, None]
    else:
        return curves
    curves["test_accuracy"] = np.mean((proba >= 0.5) == y, axis=1)
    curves["test_auc"] = _auc_rows(y, proba)
    return curves


def _auc_rows(y: Any, scores: Any) -> Any:
    """ROC AUC of each row of ``scores`` (Mann-Whitney U with tied ranks averaged)."""
    import numpy as np
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    positives = y == 1
    n_pos = int(positives.sum())
    n_neg = len(y) - n_pos
    u = ranks[:, positives].sum(axis=1) - n_pos * (n_pos + 1) / 2
    return np.asarray(u / (n_pos * n_neg), dtype=float)


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


def have_matplotlib() -> bool:
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


@dataclass(frozen=True)
class Tour:
    """What the tracking tour left behind, for the commands printed at the end."""

    trained: list[Trained]
    model_uri: str
    version: int
    drift_path: Any
    schema_path: Any
    seconds: float

    @property
    def ranked(self) -> list[Trained]:
        return sorted(self.trained, key=lambda t: (-t.metrics["test_auc"], t.metrics["test_loss"]))


def run_tour(root: Any, plots: bool) -> Tour:
    """Six tracked runs, their best registered as ``quickstart-classifier@champion``, and a
    shifted batch checked against the training data's schema and for drift."""
    import loopml
    from loopml.cli import quickstart_loop as loop
    from loopml.cli._output import esc

    out = console()
    started = time.perf_counter()
    data = _load_data()
    dataset = loop.version_training_data(root, data)
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
    loopml.load_model(model_uri).predict(data["x_test"].head(5))
    out.print(f"  [green]✓[/] {esc(best.run_name)} registered as {loop.MODEL} v{version} @champion")
    schema_path, drift_path, drifted, anomalies = loop.check_new_batch(root, data)
    out.print(
        f"  [green]✓[/] a shifted new batch: {anomalies} schema anomalies, "
        f"{len(drifted)} drifted columns ({esc(', '.join(drifted))}); report: {esc(drift_path)}"
    )
    tour = Tour(trained, model_uri, version, drift_path, schema_path, time.perf_counter() - started)
    _print_ranking(tour)
    return tour


def _print_ranking(tour: Tour) -> None:
    from loopml.cli._output import esc, new_table

    table = new_table(
        "#",
        "run id",
        "name",
        "test_auc",
        "test_accuracy",
        "test_f1",
        title=f"{len(tour.trained)} runs logged in {tour.seconds:.1f}s, ranked by test AUC",
    )
    for i, t in enumerate(tour.ranked, 1):
        table.add_row(
            str(i),
            t.run_id,
            esc(t.run_name),
            f"{t.metrics['test_auc']:.4f}",
            f"{t.metrics['test_accuracy']:.4f}",
            f"{t.metrics['test_f1']:.4f}",
        )
    console().print(table)
