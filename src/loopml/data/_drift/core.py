"""``loopml.data.drift``: per-column drift tests between a reference and a current table.

Columns are tested in parallel threads (sorting, ``searchsorted`` and Arrow's hash counts release
the GIL), each column's samples prepared once. Reference and current may be DataFrames, Arrow
tables, Parquet/CSV paths, ``data:/`` URIs, a kept :class:`DriftReference`, or stored profiles
(then statistics are histogram approximations, and the report says so).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loopml.data._drift import methods, plots
from loopml.data._drift.categorical import Counts
from loopml.data._drift.numeric import Sorted
from loopml.data._drift.report import ColumnDrift, DriftReport
from loopml.data._drift.samples import TableSamples
from loopml.data._source import load
from loopml.errors import InvalidParameterError

__all__ = ["drift"]

DEFAULT_SHARE = 0.5


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    tests: str | Mapping[str, str] | None = None,
    threshold: float | Mapping[str, float] | None = None,
    share: float = DEFAULT_SHARE,
    categorical: Sequence[str] | None = None,
) -> DriftReport:
    """Test each column of ``current`` for drift from ``reference``.

    ``tests``: one test name for every column, or ``{column: name}`` (ks, chi2, wasserstein,
    jensenshannon, psi); other columns get the default for their type and size. ``threshold``:
    one value for every column or ``{column: value}``; default: the test's own (p < 0.05 for
    ks and chi2, distance >= 0.1 otherwise). Dataset drift when the share of drifted columns is
    at least ``share``. ``categorical``: numeric columns to test as categories.
    """
    if not 0 < share <= 1:
        raise InvalidParameterError(f"share must be in (0, 1], got {share!r}")
    from loopml.data.profiling import DatasetProfile

    if isinstance(reference, DatasetProfile | dict) or isinstance(current, DatasetProfile | dict):
        from loopml.data._drift.from_profiles import drift_from_profiles

        return drift_from_profiles(
            reference, current, columns=columns, tests=tests, threshold=threshold, share=share
        )
    cats = frozenset(categorical or ())
    if isinstance(reference, TableSamples):
        ref = reference
        if cats - ref.categorical:
            ref = TableSamples(ref.loaded, ref.categorical | cats, keep=False)
    else:  # used once: prepare each column, test it, forget it
        loaded = load(reference, role="reference", strings_as_dictionary=True, lazy=True)
        ref = TableSamples(loaded, cats, keep=False)
    ref_cols = set(ref.column_names)
    wanted = methods.select_columns(columns, ref.column_names, ref.label)
    cur = TableSamples(_load_current(current), ref.categorical, keep=False)
    skipped: dict[str, str] = {}
    testable: list[str] = []
    for name in wanted:
        if name not in cur.column_names:
            if columns is not None:
                raise InvalidParameterError(
                    f"column {name!r} is not in the current data ({cur.label})", column=name
                )
            skipped[name] = "not in the current data"
        elif ref.kind(name) == "other" or cur.kind(name) == "other":
            skipped[name] = f"type {ref.loaded.table.schema.field(name).type} is not tested"
        else:
            testable.append(name)
    for name in cur.column_names:
        if name not in ref_cols:
            skipped[name] = "not in the reference"
    per_column = {name: methods.column_options(name, tests, threshold) for name in testable}
    workers = max(1, min(len(testable), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda n: _test_column(n, ref, cur, per_column[n]), testable))
    tested = {}
    for name, result in zip(testable, results, strict=True):
        if isinstance(result, str):
            skipped[name] = result
        else:
            tested[name] = result
    return DriftReport(
        columns=tested,
        share_threshold=share,
        reference_rows=ref.rows,
        current_rows=cur.rows,
        skipped=skipped,
        reference_label=ref.label,
        current_label=cur.label,
    )


def _load_current(current: Any) -> Any:
    """The current table (a Parquet file: its columns, read one at a time when tested)."""
    if isinstance(current, TableSamples):
        return current.loaded
    return load(current, role="current", strings_as_dictionary=True, lazy=True)


def _test_column(
    name: str,
    ref: TableSamples,
    cur: TableSamples,
    options: methods.Options,
) -> ColumnDrift | str:
    kind = ref.kind(name)
    if cur.kind(name) != kind:
        return (
            f"type changed: {ref.loaded.table.schema.field(name).type} in the reference, "
            f"{cur.loaded.table.schema.field(name).type} now"
        )
    r, c = ref.sample(name), cur.sample(name)
    if r.n == 0 or c.n == 0:
        side = "reference" if r.n == 0 else "current data"
        return f"no non-missing values in the {side}"
    few = isinstance(r.data, Sorted) and _few_values(r.data, c.data)
    method, reason = methods.pick(options, name, kind, r.n, few)
    limit = method.threshold if options.threshold is None else options.threshold
    statistic, p_value = methods.run(method, r.data, c.data)
    value = statistic if p_value is None else p_value
    if isinstance(r.data, Sorted) and isinstance(c.data, Sorted):
        plot = plots.numeric_plot(r.data, c.data)
    else:
        assert isinstance(r.data, Counts) and isinstance(c.data, Counts)
        plot = plots.categorical_plot(r.data, c.data)
    return ColumnDrift(
        column=name,
        kind=kind,
        test=method.name,
        test_title=method.title,
        statistic=statistic,
        p_value=p_value,
        threshold=limit,
        rule=method.rule(limit),
        drifted=method.drifted(value, limit),
        reason=reason,
        reference_count=r.n,
        current_count=c.n,
        reference_missing=r.missing,
        current_missing=c.missing,
        plot=plot,
    )


def _few_values(ref: Sorted, cur: Sorted | Counts) -> bool:
    """Whether both samples together hold at most FEW_VALUES distinct numbers (Evidently)."""
    import numpy as np

    if not ref.distinct_at_most(methods.FEW_VALUES):
        return False
    assert isinstance(cur, Sorted)
    if not cur.distinct_at_most(methods.FEW_VALUES):
        return False
    both = np.union1d(np.unique(ref.values), np.unique(cur.values))
    return int(both.size) <= methods.FEW_VALUES
