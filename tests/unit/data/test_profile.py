"""Profiles: statistics match numpy/pandas, JSON round-trips, large tables go approximate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loopml.data.profiling import (
    DatasetProfile,
    profile,
    profile_from_json,
    profile_to_json,
)
from loopml.errors import InvalidParameterError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.normal(10, 2, n)
    x[:50] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 4, n),
            "city": pd.Series(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])).where(
                rng.random(n) > 0.1
            ),
            "flag": rng.random(n) > 0.5,
            "when": pd.date_range("2024-01-01", periods=n, freq="min"),
        }
    )


def test_numeric_statistics_match_numpy(frame: pd.DataFrame) -> None:
    prof = profile(frame)
    x = frame["x"].dropna().to_numpy()
    col = prof["x"]
    assert (col.count, col.missing, col.distinct) == (2000, 50, x.size)
    assert col.mean == pytest.approx(x.mean())
    assert col.std == pytest.approx(x.std())
    assert (col.min, col.max) == (x.min(), x.max())
    for q in ("0.01", "0.25", "0.5", "0.99"):
        assert col.quantiles[q] == pytest.approx(np.quantile(x, float(q)))
    assert col.histogram is not None
    edges = np.asarray(col.histogram["edges"])
    assert col.histogram["counts"] == np.histogram(x, edges)[0].tolist()
    assert sum(col.histogram["counts"]) == x.size


def test_categories_booleans_and_few_valued_numbers(frame: pd.DataFrame) -> None:
    prof = profile(frame)
    city = prof["city"]
    assert city.kind == "categorical"
    assert city.missing == int(frame["city"].isna().sum())
    assert dict(city.top) == frame["city"].value_counts().to_dict()
    assert city.top[0][0] == "a" and city.other == 0
    assert dict(prof["flag"].top) == frame["flag"].value_counts().to_dict()
    assert dict(prof["k"].top) == frame["k"].value_counts().to_dict()
    assert prof["when"].kind == "datetime" and prof["when"].min is not None


def test_json_round_trip_is_lossless(frame: pd.DataFrame) -> None:
    prof = profile(frame)
    text = profile_to_json(prof)
    json.loads(text)  # plain JSON
    back = profile_from_json(text)
    assert back == prof
    assert DatasetProfile.from_dict(prof.to_dict()) == prof


def test_profile_reads_files(tmp_path: Path, frame: pd.DataFrame) -> None:
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv", index=False)
    a, b = profile(tmp_path / "f.parquet"), profile(str(tmp_path / "f.csv"))
    assert a.rows == b.rows == 2000
    assert a["x"].mean == pytest.approx(b["x"].mean)
    assert a.source.endswith("f.parquet")


def test_large_tables_use_approximate_distinct() -> None:
    rng = np.random.default_rng(1)
    table = pa.table({"s": pa.array(rng.integers(0, 500, 5000).astype(str))})
    exact = profile(table)["s"]
    approx = profile(table, exact_distinct_limit=1000)["s"]
    assert not exact.distinct_approx and approx.distinct_approx
    assert approx.distinct == pytest.approx(exact.distinct, rel=0.1)
    assert approx.top[:3] == exact.top[:3]
    assert approx.other == exact.other


def test_empty_and_all_null_columns() -> None:
    table = pa.table(
        {"x": pa.array([None, None], pa.float64()), "s": pa.array([None, None], pa.string())}
    )
    prof = profile(table)
    assert prof["x"].missing == 2 and prof["x"].histogram is None
    assert prof["s"].distinct == 0 and prof["s"].top == []


def test_bad_input_is_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(InvalidParameterError, match=r"bad\.parquet"):
        profile(bad)
    with pytest.raises(InvalidParameterError, match="mixes types"):
        profile(pd.DataFrame({"m": [1, "x"]}))
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        profile_from_json("{nope")


def test_profile_html_has_a_chart_per_column(frame: pd.DataFrame, tmp_path: Path) -> None:
    page = profile(frame).to_html(tmp_path / "p.html")
    assert page.count("<svg") == 5
    assert (tmp_path / "p.html").exists()
