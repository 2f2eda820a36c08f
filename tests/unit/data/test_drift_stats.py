"""The drift statistics agree with scipy's reference implementations on random data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from loopml.data._drift import categorical, numeric
from loopml.data._drift.categorical import Counts
from loopml.data._drift.numeric import Sorted

samples = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)
# Few distinct values: ties are where CDF code goes wrong.
tied = st.lists(st.integers(min_value=-3, max_value=3).map(float), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(a=st.one_of(samples, tied), b=st.one_of(samples, tied))
def test_wasserstein_matches_scipy(a: list[float], b: list[float]) -> None:
    ours = numeric.wasserstein(Sorted.of(np.array(a)), Sorted.of(np.array(b)))
    assert ours == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-6)


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(a=st.one_of(samples, tied), b=st.one_of(samples, tied))
def test_ks_statistic_and_p_value_match_scipy(a: list[float], b: list[float]) -> None:
    d, p = numeric.ks_2samp(Sorted.of(np.array(a)), Sorted.of(np.array(b)))
    expected = stats.ks_2samp(a, b)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
    assert numeric.ks_statistic(Sorted.of(np.array(a)), Sorted.of(np.array(b))) == pytest.approx(
        expected.statistic, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(4))
def test_large_sample_ks_uses_scipy_asymptotic_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=20_000), rng.normal(0.02, 1, size=15_000)
    d, p = numeric.ks_2samp(Sorted.of(a), Sorted.of(b))
    expected = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(("n", "m"), [(1000, 1000), (1500, 1100), (3, 7), (20_000, 7_001)])
def test_wasserstein_on_unequal_sizes_and_normed_like_evidently(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    a, b = rng.exponential(2.0, n), rng.normal(1, 3, m)
    sa, sb = Sorted.of(a), Sorted.of(b)
    assert numeric.wasserstein(sa, sb) == pytest.approx(stats.wasserstein_distance(a, b))
    normed = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
    assert numeric.normed_wasserstein(sa, sb) == pytest.approx(normed)


def test_bins_match_numpy_histogram_with_sturges_edges() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=5000), rng.normal(0.3, 1.2, size=4000)
    sa, sb = Sorted.of(a), Sorted.of(b)
    edges = numeric.sturges_edges(sa, sb)
    np.testing.assert_allclose(edges, np.histogram_bin_edges(np.concatenate([a, b]), "sturges"))
    np.testing.assert_array_equal(numeric.bin_counts(sa, edges), np.histogram(a, edges)[0])
    np.testing.assert_array_equal(numeric.bin_counts(sb, edges), np.histogram(b, edges)[0])


@settings(max_examples=100, deadline=None)
@given(
    p=st.lists(st.integers(0, 50), min_size=2, max_size=12),
    q=st.lists(st.integers(0, 50), min_size=2, max_size=12),
)
def test_jensen_shannon_matches_scipy(p: list[int], q: list[int]) -> None:
    k = min(len(p), len(q))
    p, q = p[:k], q[:k]
    if sum(p) == 0 or sum(q) == 0:
        return
    expected = distance.jensenshannon(np.array(p, float), np.array(q, float))
    assert numeric.js_from_counts(p, q) == pytest.approx(expected, abs=1e-9)


def test_psi_matches_the_textbook_formula() -> None:
    r, c = np.array([30, 50, 20]), np.array([20, 40, 40])
    p, q = r / 100, c / 100
    assert numeric.psi_from_counts(r, c, 100, 100) == pytest.approx(
        float(np.sum((p - q) * np.log(p / q)))
    )
    assert numeric.psi_from_counts(r, r, 100, 100) == pytest.approx(0.0)


@settings(max_examples=100, deadline=None)
@given(
    r=st.lists(st.integers(1, 200), min_size=2, max_size=8),
    c=st.lists(st.integers(1, 200), min_size=2, max_size=8),
)
def test_chi2_is_scipys_contingency_test_without_correction(r: list[int], c: list[int]) -> None:
    k = min(len(r), len(c))
    stat, p = categorical.chi2_homogeneity(np.array(r[:k]), np.array(c[:k]))
    expected = stats.chi2_contingency(np.array([r[:k], c[:k]]), correction=False)
    assert stat == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


def test_chi2_false_positive_rate_is_nominal_without_shift() -> None:
    """No shift, many seeds: the homogeneity test flags about 5% (Evidently's χ² flags far more)."""
    probs = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    labels = np.array(list("abcde"))
    runs, flagged = 400, 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        ref = Counts.of(pa.array(labels[rng.choice(5, 800, p=probs)]))
        cur = Counts.of(pa.array(labels[rng.choice(5, 600, p=probs)]))
        _, r, c = categorical.align(ref, cur)
        flagged += categorical.chi2_homogeneity(r, c)[1] < 0.05
    assert 0.025 <= flagged / runs <= 0.08


def test_align_counts_over_the_union_of_categories() -> None:
    ref = Counts.of(pa.array(["a", "b", "b", None, "c"]))
    cur = Counts.of(pa.chunked_array([["b", "d"], ["d", "a", None]]))
    values, r, c = categorical.align(ref, cur)
    got = dict(zip(values.to_pylist(), zip(r.tolist(), c.tolist(), strict=True), strict=True))
    assert got == {"a": (1, 1), "b": (2, 1), "c": (1, 0), "d": (0, 2)}
    assert (ref.n, cur.n) == (4, 4)


def test_chi2_of_a_single_category_is_no_evidence() -> None:
    assert categorical.chi2_homogeneity(np.array([10]), np.array([5])) == (0.0, 1.0)


@pytest.mark.parametrize("n", [300, 4000])
def test_public_drift_agrees_with_scipy_end_to_end(n: int) -> None:
    import pandas as pd

    from loopml.data._drift.core import drift

    rng = np.random.default_rng(n)
    a = pd.DataFrame({"x": rng.gamma(2.0, 1.0, n), "c": rng.choice(list("pqrs"), n)})
    b = pd.DataFrame({"x": rng.gamma(2.2, 1.0, n + 17), "c": rng.choice(list("pqrst"), n + 17)})
    report = drift(a, b)
    ra, rb = a["c"].value_counts(), b["c"].value_counts()
    cats = sorted(set(ra.index) | set(rb.index))
    table = np.array([[ra.get(k, 0) for k in cats], [rb.get(k, 0) for k in cats]])
    if n <= 1000:
        assert report["x"].p_value == pytest.approx(stats.ks_2samp(a["x"], b["x"]).pvalue)
        expected = stats.chi2_contingency(table, correction=False).pvalue
        assert report["c"].p_value == pytest.approx(expected)
    else:
        normed = stats.wasserstein_distance(a["x"], b["x"]) / np.std(a["x"])
        assert report["x"].statistic == pytest.approx(normed)
        assert report["c"].statistic == pytest.approx(distance.jensenshannon(*table))
