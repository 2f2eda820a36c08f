"""scikit-learn autologging: every ``fit`` logs the estimator's params, training score and time.

Each estimator class's own ``fit`` is wrapped once. Only the outermost ``fit`` logs: a
``Pipeline`` or ``GridSearchCV`` fitting its parts is one training call to the user. Without an
active run, a run is started for the ``fit`` and ended after it, as MLflow users expect.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from loopml.errors import AlreadyExistsError, LoopmlError

log = logging.getLogger("loopml.autolog")

_originals: dict[type, Callable[..., Any]] = {}
_depth = threading.local()
_fit_counts: dict[str, int] = {}
_settings: dict[str, Any] = {"log_training_score": True, "max_param_length": 500}


def _param_value(value: Any, limit: int) -> str:
    text = value.__class__.__name__ if hasattr(value, "get_params") else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _after_fit(
    estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float
) -> None:
    from loopml.tracking import fluent

    run_id = fluent._run_id()
    client = fluent.client()
    limit = int(_settings["max_param_length"])
    try:
        params = {k: _param_value(v, limit) for k, v in estimator.get_params(deep=True).items()}
    except Exception:  # an estimator with a broken get_params must not break training
        params = {}
    try:
        client.log_params(run_id, params)
    except AlreadyExistsError as exc:
        log.warning("autolog: params of this fit were not logged: %s", exc.message)
    step = _fit_counts.get(run_id, 0)
    _fit_counts[run_id] = step + 1
    metrics: dict[str, float] = {"fit_duration_s": seconds}
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if _settings["log_training_score"] and y is not None and hasattr(estimator, "score"):
        try:
            metrics["training_score"] = float(estimator.score(x, y))
        except Exception as exc:
            log.debug("autolog: no training score for %s: %s", type(estimator).__name__, exc)
    client.log_metrics(run_id, metrics, step=step)
    client.set_tags(
        run_id,
        {
            "loopml.autolog.estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            "loopml.autolog.estimator_name": type(estimator).__name__,
        },
    )


def _wrap(fit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fit)
    def fit_and_log(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "n", 0)
        if depth > 0:
            return fit(self, *args, **kwargs)
        from loopml.tracking import fluent

        started_here = fluent.active_run() is None
        if started_here:
            fluent.start_run(run_name=f"{type(self).__name__.lower()}-fit")
        _depth.n = depth + 1
        t0 = time.perf_counter()
        try:
            result = fit(self, *args, **kwargs)
        except BaseException:
            _depth.n = depth
            if started_here:
                fluent.end_run("FAILED", message="fit raised")
            raise
        _depth.n = depth
        try:
            _after_fit(self, args, kwargs, time.perf_counter() - t0)
        except LoopmlError as exc:
            log.warning("autolog could not log this fit: %s", exc.message)
        finally:
            if started_here:
                fluent.end_run()
        return result

    fit_and_log.__loopml_autolog__ = True  # type: ignore[attr-defined]
    return fit_and_log


def autolog(
    *, disable: bool = False, log_training_score: bool = True, max_param_length: int = 500
) -> None:
    """Log params, training score and fit duration of every scikit-learn ``fit``."""
    from sklearn.utils import all_estimators

    _settings.update(log_training_score=log_training_score, max_param_length=max_param_length)
    if disable:
        for cls, original in _originals.items():
            cls.fit = original  # type: ignore[attr-defined]
        _originals.clear()
        return
    classes: list[type] = [cls for _, cls in all_estimators()]
    from sklearn.pipeline import Pipeline

    classes.append(Pipeline)
    for cls in classes:
        # patch the class that defines the fit this estimator runs (often a private base class)
        owner = next((k for k in cls.__mro__ if "fit" in k.__dict__), None)
        if owner is None or owner in _originals:
            continue
        fit = owner.__dict__["fit"]
        if getattr(fit, "__loopml_autolog__", False) or not callable(fit):
            continue
        _originals[owner] = fit
        owner.fit = _wrap(fit)  # type: ignore[attr-defined]
