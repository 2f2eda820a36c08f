"""Drift statistics of categorical columns, from value counts (one hash pass per column).

The χ² test here is the **two-sample homogeneity** test: a 2 x k contingency table of the
reference and current counts, whose expected cells come from both samples. Evidently's χ² is a
one-sample goodness-of-fit test that treats the reference proportions as exact; it ignores the
reference's own sampling noise and so flags 23-98% of unchanged columns at a nominal 5%
(DESIGN.md). The homogeneity test keeps its stated false-positive rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Counts", "align", "chi2_homogeneity"]

Array = Any


@dataclass(frozen=True)
class Counts:
    """Distinct non-null values of a sample (an Arrow array) and how often each occurs."""

    values: Any  # pyarrow.Array
    counts: Array  # int64 numpy, same order as values
    n: int

    @classmethod
    def of(cls, column: pa.ChunkedArray | pa.Array) -> Counts:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()  # also unifies the chunks' dictionaries
        if pa.types.is_dictionary(column.type):
            return cls._of_dictionary(column)
        if column.null_count:
            column = pc.drop_null(column)
        tally = pc.value_counts(column)
        counts = np.asarray(tally.field("counts").to_numpy(zero_copy_only=False), dtype=np.int64)
        return cls(tally.field("values"), counts, int(counts.sum()))

    @classmethod
    def _of_dictionary(cls, column: pa.DictionaryArray) -> Counts:
        """Counts of dictionary codes: a bincount of small integers, no string hashing."""
        import pyarrow as pa
        import pyarrow.compute as pc

        codes = column.indices
        if codes.null_count:
            codes = pc.drop_null(codes)
        size = len(column.dictionary)
        counts = np.bincount(codes.to_numpy(zero_copy_only=False), minlength=size)
        used = np.flatnonzero(counts)
        values = column.dictionary.take(pa.array(used))
        if pa.types.is_dictionary(values.type):  # pragma: no cover (nested dictionaries)
            values = pc.cast(values, values.type.value_type)
        return cls(values, counts[used].astype(np.int64), int(counts.sum()))

    @classmethod
    def of_numbers(cls, values: Array) -> Counts:
        """Counts of a (few-valued) numeric sample, for tests that treat it as categories."""
        import pyarrow as pa

        uniq, counts = np.unique(values, return_counts=True)
        return cls(pa.array(uniq), counts.astype(np.int64), int(counts.sum()))


def align(ref: Counts, cur: Counts) -> tuple[Any, Array, Array]:
    """Both count vectors over the union of categories (reference's first): ``(values, r, c)``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if ref.values.type != cur.values.type:
        cur_values = pc.cast(cur.values, ref.values.type, safe=False)
    else:
        cur_values = cur.values
    where = pc.index_in(cur_values, value_set=ref.values)
    known = np.asarray(pc.is_valid(where).to_numpy(zero_copy_only=False), dtype=bool)
    positions = np.asarray(pc.fill_null(where, 0).to_numpy(zero_copy_only=False))[known]
    new = ~known
    r = np.concatenate([ref.counts, np.zeros(int(new.sum()), dtype=np.int64)])
    c = np.zeros(ref.counts.shape[0], dtype=np.int64)
    c[positions] = cur.counts[known]
    c = np.concatenate([c, cur.counts[new]])
    values = pa.concat_arrays([ref.values, cur_values.filter(pa.array(new))])
    return values, r, c


def chi2_homogeneity(ref_counts: Array, cur_counts: Array) -> tuple[float, float]:
    """(χ², p-value) of the two-sample homogeneity test on a 2 x k table of counts.

    No Yates correction: with one degree of freedom this is the two-proportion z-test squared
    (Evidently's test for binary columns), which keeps its nominal rate without the correction.
    """
    from scipy import stats

    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)
