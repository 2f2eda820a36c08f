"""The gates a candidate passes before it may replace the champion, each with its numbers.

- ``package``: the candidate's package loads and predicts its own input example, and its
  requirements match this environment (``loopml.models.check_environment``).
- ``improvement``: on the same holdout rows, candidate minus champion (sign-flipped for
  lower-is-better metrics) is at least ``min_improvement``.
- ``slices``: on no value of ``slice_column`` does the candidate fall behind the champion by
  more than ``max_slice_regression``.

Without a champion there is nothing to compare against: the comparison gates pass and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopml.ct.policy import Policy
from loopml.ct.scoring import Scores, features, infer_label, score

__all__ = ["GateResult", "check_models", "check_package"]


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def check_package(candidate_uri: str, holdout: Any = None, label: str | None = None) -> GateResult:
    """Load the package and predict its input example (what serving does before switching);
    a package logged without one predicts the first holdout rows instead, and says so."""
    from loopml.models import check_environment, load_model

    try:
        model = load_model(candidate_uri)
        example = model.input_example
        source = "its input example"
        if example is None:
            if holdout is None:
                return GateResult(
                    "package",
                    False,
                    f"{candidate_uri} has no input example to smoke-test: log the model with "
                    "input_example=...",
                )
            column = infer_label(holdout, model, label)
            example = features(model, holdout.drop(columns=[column]).head(5))
            source = "the first holdout rows (the package has no input example)"
        prediction = model.predict(example)
        rows = len(prediction) if hasattr(prediction, "__len__") else 1
        env = check_environment(candidate_uri)
    except Exception as exc:  # any failure to load or predict is the gate's answer
        return GateResult(
            "package",
            False,
            f"{candidate_uri} failed to load or predict a sample: {type(exc).__name__}: {exc}",
        )
    numbers = {
        "predicted_rows": rows,
        "requirements": len(env.requirements),
        "mismatches": [m.requirement for m in env.mismatches],
        "python_ok": env.python_ok,
    }
    if not env.ok:
        why = ", ".join(f"{m.requirement} ({m.problem})" for m in env.mismatches) or (
            f"python {env.python_required} required, {env.python_running} running"
        )
        return GateResult("package", False, f"environment check failed: {why}", numbers)
    return GateResult(
        "package",
        True,
        f"package loads and predicts {source}: {rows} rows; "
        f"{len(env.requirements)} requirements satisfied",
        numbers,
    )


def _gain(policy: Policy, candidate: float, champion: float) -> float:
    return candidate - champion if policy.higher_is_better else champion - candidate


def check_models(
    policy: Policy, candidate_uri: str, champion_uri: str | None, holdout: Any
) -> list[GateResult]:
    """The improvement and slice gates, scoring both models on ``holdout``."""
    from loopml.models import load_model

    candidate = load_model(candidate_uri)
    label = infer_label(holdout, candidate, policy.label)
    slice_column = policy.gates.slice_column
    cand = score(candidate, holdout, label, policy.metric, slice_column)
    metric = policy.metric
    if champion_uri is None:
        numbers = {"metric": metric, "candidate": cand.overall, "rows": cand.rows}
        why = (
            f"no champion yet: candidate {metric} {_fmt(cand.overall)} on {cand.rows} holdout rows"
        )
        results = [GateResult("improvement", True, why, numbers)]
        if slice_column is not None:
            results.append(GateResult("slices", True, "no champion yet: no slice to compare"))
        return results
    champ = score(load_model(champion_uri), holdout, label, metric, slice_column)
    return [_improvement(policy, cand, champ), *_slices(policy, cand, champ)]


def _improvement(policy: Policy, cand: Scores, champ: Scores) -> GateResult:
    gain = _gain(policy, cand.overall, champ.overall)
    need = policy.gates.min_improvement
    passed = gain >= need
    numbers = {
        "metric": policy.metric,
        "candidate": cand.overall,
        "champion": champ.overall,
        "improvement": gain,
        "min_improvement": need,
        "rows": cand.rows,
    }
    verdict = "passes" if passed else "fails"
    reason = (
        f"candidate {policy.metric} {_fmt(cand.overall)} vs champion {_fmt(champ.overall)} on "
        f"the same {cand.rows} holdout rows: improvement {gain:+.4f} {verdict} "
        f"min_improvement {need:+.4f}"
    )
    return GateResult("improvement", passed, reason, numbers)


def _slices(policy: Policy, cand: Scores, champ: Scores) -> list[GateResult]:
    column = policy.gates.slice_column
    limit = policy.gates.max_slice_regression
    if column is None or limit is None:
        return []
    table: dict[str, dict[str, Any]] = {}
    worst: tuple[str, float] | None = None
    for value, (c, rows) in cand.slices.items():
        h = champ.slices.get(value, (None, rows))[0]
        regression = None if c is None or h is None else -_gain(policy, c, h)
        table[value] = {"candidate": c, "champion": h, "regression": regression, "rows": rows}
        if regression is not None and (worst is None or regression > worst[1]):
            worst = (value, regression)
    failed = {
        v: t for v, t in table.items() if t["regression"] is not None and t["regression"] > limit
    }
    numbers = {"column": column, "max_slice_regression": limit, "slices": table}
    if failed:
        parts = [
            f"{column}={v}: {policy.metric} {_fmt(t['candidate'])} vs champion "
            f"{_fmt(t['champion'])} (regression {t['regression']:.4f} > {limit:.4f}, "
            f"{t['rows']} rows)"
            for v, t in failed.items()
        ]
        return [GateResult("slices", False, "slice regression: " + "; ".join(parts), numbers)]
    if worst is None:
        why = f"no slice of {column} has a defined {policy.metric} for both models"
    else:
        why = (
            f"no slice of {column} regresses more than {limit:.4f}: worst is "
            f"{column}={worst[0]} at {worst[1]:+.4f}"
        )
    return [GateResult("slices", True, why, numbers)]
