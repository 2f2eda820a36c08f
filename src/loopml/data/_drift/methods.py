"""The drift tests by name, their default thresholds, and which one a column gets by default.

The default choice follows issue 5 and Evidently's rules, so verdicts are comparable: a column
whose reference holds at most 1,000 values is "small" and gets a significance test (KS for
numbers, χ² for categories); a larger one gets an effect size (normed Wasserstein for numbers,
Jensen-Shannon for categories), because on large samples a p-value flags immaterial shifts. A
numeric column with at most 5 distinct values is tested as categories. Every column's choice is
overridable by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loopml.data._drift import categorical, numeric
from loopml.data._drift.categorical import Counts
from loopml.data._drift.numeric import Sorted
from loopml.errors import InvalidParameterError

__all__ = [
    "METHODS",
    "SMALL_SAMPLE",
    "Method",
    "Options",
    "choose",
    "column_options",
    "pick",
    "run",
    "select_columns",
]

# Evidently's boundary: a reference of at most this many values is a small sample.
SMALL_SAMPLE = 1000
# Numeric columns with at most this many distinct values are tested as categories (Evidently).
FEW_VALUES = 5
# Numeric columns with more distinct reference values than this are binned (Sturges) for
# χ², Jensen-Shannon and PSI; fewer are counted value by value (Evidently's get_binned_data).
BIN_ABOVE = 20


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    threshold: float
    uses_p_value: bool  # drift if p < threshold; otherwise drift if distance >= threshold
    numeric_only: bool = False

    def drifted(self, value: float, threshold: float) -> bool:
        return value < threshold if self.uses_p_value else value >= threshold

    def rule(self, threshold: float) -> str:
        return f"p < {threshold:g}" if self.uses_p_value else f"distance >= {threshold:g}"


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", "two-sample Kolmogorov-Smirnov test", 0.05, True, numeric_only=True),
        Method("chi2", "chi-squared test of homogeneity (two-sample)", 0.05, True),
        Method("wasserstein", "Wasserstein distance (normed by reference std)", 0.1, False, True),
        Method("jensenshannon", "Jensen-Shannon distance", 0.1, False),
        Method("psi", "population stability index", 0.1, False),
    )
}
_ALIASES = {"chisquare": "chi2", "chi_square": "chi2", "js": "jensenshannon", "wd": "wasserstein"}


def method_named(name: str, column: str) -> Method:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in METHODS:
        raise InvalidParameterError(
            f"unknown drift test {name!r} for column {column!r}; use one of {', '.join(METHODS)}",
            column=column,
        )
    return METHODS[key]


def select_columns(columns: Sequence[str] | None, available: list[str], label: str) -> list[str]:
    if columns is None:
        return available
    if isinstance(columns, str):
        columns = [columns]
    missing = [c for c in columns if c not in available]
    if missing:
        raise InvalidParameterError(
            f"column {missing[0]!r} is not in the reference data ({label})", column=missing[0]
        )
    return list(columns)


@dataclass(frozen=True)
class Options:
    """What the caller asked for one column: a test, a threshold (None: the defaults)."""

    method: Method | None
    threshold: float | None
    for_every_column: bool  # one test named for all columns, not for this one


def column_options(
    name: str,
    tests: str | Mapping[str, str] | None,
    threshold: float | Mapping[str, float] | None,
) -> Options:
    test = tests if isinstance(tests, str) else (tests or {}).get(name)
    method = method_named(test, name) if test else None
    value = threshold if isinstance(threshold, int | float) else (threshold or {}).get(name)
    return Options(method, None if value is None else float(value), isinstance(tests, str))


def pick(options: Options, column: str, kind: str, ref_n: int, few: bool) -> tuple[Method, str]:
    """The test a column gets and why: the caller's, else the default for its type and size.

    A numeric-only test named for every column leaves categorical columns on their default; named
    for one categorical column, it is an error.
    """
    chosen, reason = choose(kind, ref_n, few)
    method = options.method
    if method is None:
        return chosen, reason
    if method.numeric_only and kind != "numeric":
        if options.for_every_column:
            return chosen, f"{reason}; {method.name} tests numeric columns only"
        raise InvalidParameterError(
            f"test {method.name!r} needs a numeric column; {column!r} is categorical",
            column=column,
        )
    return method, f"chosen by the caller (default would be {chosen.name}: {reason})"


def choose(kind: str, ref_n: int, few_values: bool) -> tuple[Method, str]:
    """The default test of a column and the reason, in words, for the report."""
    size = (
        f"{ref_n:,} reference values (<= {SMALL_SAMPLE:,}: small sample)"
        if ref_n <= SMALL_SAMPLE
        else f"{ref_n:,} reference values (> {SMALL_SAMPLE:,}: large sample, effect size)"
    )
    small = ref_n <= SMALL_SAMPLE
    if kind == "numeric" and not few_values:
        method = METHODS["ks" if small else "wasserstein"]
        return method, f"numeric, {size}"
    what = "categorical" if kind == "categorical" else f"numeric with <= {FEW_VALUES} values"
    method = METHODS["chi2" if small else "jensenshannon"]
    return method, f"{what}, {size}"


def _counts_pair(ref: Sorted | Counts, cur: Sorted | Counts) -> tuple[Any, Any]:
    """Reference and current counts over shared bins or categories."""
    if isinstance(ref, Counts) and isinstance(cur, Counts):
        _, r, c = categorical.align(ref, cur)
        return r, c
    assert isinstance(ref, Sorted) and isinstance(cur, Sorted)
    if ref.distinct_at_most(BIN_ABOVE):
        _, r, c = categorical.align(Counts.of_numbers(ref.values), Counts.of_numbers(cur.values))
        return r, c
    edges = numeric.sturges_edges(ref, cur)
    return numeric.bin_counts(ref, edges), numeric.bin_counts(cur, edges)


def run(method: Method, ref: Sorted | Counts, cur: Sorted | Counts) -> tuple[float, float | None]:
    """(statistic, p-value or None): the statistic is the distance for distance methods."""
    if method.name in ("ks", "wasserstein"):
        assert isinstance(ref, Sorted) and isinstance(cur, Sorted)
        if method.name == "ks":
            return numeric.ks_2samp(ref, cur)
        return numeric.normed_wasserstein(ref, cur), None
    r, c = _counts_pair(ref, cur)
    if method.name == "chi2":
        return categorical.chi2_homogeneity(r, c)
    if method.name == "jensenshannon":
        return numeric.js_from_counts(r, c), None
    return numeric.psi_from_counts(r, c, int(r.sum()), int(c.sum())), None
