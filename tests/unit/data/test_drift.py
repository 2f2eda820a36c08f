"""loopml.data.drift: test choice, verdicts, overrides, JSON, HTML and drift from profiles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loopml.data._drift.core import drift
from loopml.data._drift.samples import DriftReference
from loopml.data.profiling import profile
from loopml.errors import InvalidParameterError


def frames(n: int, seed: int = 0, shift: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def one(move: float) -> pd.DataFrame:
        p = [0.2] * 5 if not move else [0.4, 0.15, 0.15, 0.15, 0.15]
        return pd.DataFrame(
            {
                "moved": rng.normal(move, 1, n),
                "still": rng.normal(0, 1, n),
                "code": rng.integers(0, 3, n),
                "color": rng.choice(list("abcde"), n, p=p),
                "plain": rng.choice(list("xyz"), n),
            }
        )

    return one(0.0), one(shift)


def test_small_samples_get_significance_tests_and_say_why() -> None:
    ref, cur = frames(400)
    report = drift(ref, cur)
    assert report["moved"].test == "ks" and report["moved"].p_value is not None
    assert report["color"].test == "chi2"
    assert report["code"].test == "chi2"  # numeric with <= 5 values: tested as categories
    assert "<= 1,000" in report["moved"].reason
    assert "<= 5 values" in report["code"].reason
    assert {"moved", "color"} <= set(report.drifted_columns)
    assert "still" not in report.drifted_columns


def test_large_samples_get_effect_sizes_and_dataset_verdict_uses_share() -> None:
    ref, cur = frames(5000, seed=1)
    report = drift(ref, cur)
    assert report["moved"].test == "wasserstein" and report["moved"].p_value is None
    assert report["color"].test == "jensenshannon"
    assert report["code"].test == "jensenshannon"
    assert report.drifted_columns == ["moved", "color"]
    assert report.share == pytest.approx(2 / 5)
    assert not report.dataset_drift
    assert drift(ref, cur, share=0.4).dataset_drift


def test_identical_data_does_not_drift() -> None:
    ref, _ = frames(3000, seed=2)
    report = drift(ref, ref.copy())
    assert report.drifted_columns == []
    assert report["moved"].statistic == pytest.approx(0.0)


def test_tests_and_thresholds_are_overridable_per_column() -> None:
    ref, cur = frames(3000, seed=3)
    report = drift(ref, cur, tests={"moved": "psi", "color": "chi2"}, threshold={"still": 1e-9})
    assert report["moved"].test == "psi" and "chosen by the caller" in report["moved"].reason
    assert report["color"].test == "chi2" and report["color"].p_value is not None
    assert report["still"].threshold == 1e-9 and report["still"].drifted
    everything = drift(ref, cur, tests="psi", columns=["moved", "still"])
    assert set(everything.columns) == {"moved", "still"}
    assert all(c.test == "psi" for c in everything.columns.values())
    ks_for_all = drift(ref, cur, tests="ks")
    assert ks_for_all["moved"].test == "ks"
    assert ks_for_all["color"].test == "jensenshannon"  # ks tests numbers only: default kept
    assert "ks tests numeric columns only" in ks_for_all["color"].reason


def test_bad_arguments_name_the_column() -> None:
    ref, cur = frames(100)
    with pytest.raises(InvalidParameterError, match="'nope'"):
        drift(ref, cur, columns=["nope"])
    with pytest.raises(InvalidParameterError, match="unknown drift test 'kss' for column 'moved'"):
        drift(ref, cur, tests={"moved": "kss"})
    with pytest.raises(InvalidParameterError, match="'color' is categorical"):
        drift(ref, cur, tests={"color": "ks"})


def test_missing_values_are_counted_and_one_sided_columns_skipped() -> None:
    ref, cur = frames(500, seed=4)
    ref.loc[:9, "moved"] = np.nan
    cur["extra"] = 1.0
    cur = cur.drop(columns=["plain"])
    report = drift(ref, cur)
    assert report["moved"].reference_missing == 10
    assert report["moved"].reference_count == 490
    assert report.skipped == {"plain": "not in the current data", "extra": "not in the reference"}


def test_mixed_type_column_is_named() -> None:
    ref = pd.DataFrame({"a": [1, 2, 3]})
    cur = pd.DataFrame({"a": [1, "two", 3.5]})
    with pytest.raises(InvalidParameterError, match=r"column 'a' .* mixes types"):
        drift(ref, cur)


def test_reads_parquet_and_reuses_a_kept_reference(tmp_path: Path) -> None:
    ref, cur = frames(2000, seed=5)
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    kept = DriftReference(tmp_path / "ref.parquet")
    first = drift(kept, tmp_path / "cur.csv")
    second = drift(kept, cur)
    assert first.drifted_columns == second.drifted_columns == ["moved", "color"]
    assert first.reference_label.endswith("ref.parquet")


def test_json_is_plain_and_complete() -> None:
    ref, cur = frames(300, seed=6)
    data = json.loads(drift(ref, cur).to_json())
    assert set(data) >= {"dataset_drift", "share", "drifted_columns", "columns"}
    col = data["columns"]["moved"]
    assert {"test", "statistic", "p_value", "threshold", "drifted", "reason", "value"} <= set(col)
    assert "plot" not in col


def test_html_report_has_one_histogram_per_column(tmp_path: Path) -> None:
    ref, cur = frames(1500, seed=7)
    report = drift(ref, cur)
    page = report.to_html(tmp_path / "drift.html")
    assert (tmp_path / "drift.html").read_text(encoding="utf-8") == page
    assert page.count("<svg") == len(report.columns) == 5
    assert "Jensen-Shannon" in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert len(re.findall(r"<rect[^>]*><title>reference", page)) > 0


def test_html_escapes_column_names() -> None:
    ref = pd.DataFrame({"<b>x</b>": np.arange(50.0)})
    page = drift(ref, ref).to_html()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_drift_from_stored_profiles_matches_raw_verdicts() -> None:
    ref, cur = frames(20_000, seed=8)
    raw = drift(ref, cur)
    stored = drift(profile(ref).to_dict(), profile(cur))
    assert stored.source == "profiles"
    assert all(c.approximate for c in stored.columns.values())
    assert stored.drifted_columns == raw.drifted_columns
    for name in ("moved", "still"):
        assert stored[name].statistic == pytest.approx(raw[name].statistic, abs=0.02)
    assert stored["color"].statistic == pytest.approx(raw["color"].statistic, abs=1e-9)
    assert "histogram approximation" in stored["moved"].reason
    assert "approximations" in stored.to_html()


def test_profiles_support_every_test() -> None:
    ref, cur = frames(3000, seed=9)
    pr, pc = profile(ref), profile(cur)
    for test in ("ks", "psi", "jensenshannon", "chi2", "wasserstein"):
        report = drift(pr, pc, tests=test, columns=["moved", "still"])
        assert report["moved"].drifted and not report["still"].drifted, test


def test_numeric_codes_can_be_tested_as_categories() -> None:
    rng = np.random.default_rng(10)
    ref = pd.DataFrame({"zip": rng.integers(10_000, 10_040, 5000)})
    cur = pd.DataFrame({"zip": rng.integers(10_000, 10_040, 5000)})
    assert drift(ref, cur)["zip"].test == "wasserstein"
    as_codes = drift(ref, cur, categorical=["zip"])["zip"]
    assert as_codes.kind == "categorical" and as_codes.test == "jensenshannon"


def test_times_decimals_and_dictionaries_are_tested_nested_types_skipped() -> None:
    import datetime as dt
    import decimal

    n = 1500
    table = pa.table(
        {
            "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i % 300) for i in range(n)]),
            "at": pa.array(np.arange(n).astype("datetime64[s]")).cast(pa.timestamp("s", "UTC")),
            "price": pa.array([decimal.Decimal(i) / 100 for i in range(n)], pa.decimal128(10, 2)),
            "tag": pa.array(["x", "y", "z"] * (n // 3)).dictionary_encode(),
            "items": pa.array([[1, 2]] * n),
        }
    )
    report = drift(table, table)
    assert set(report.columns) == {"day", "at", "price", "tag"}
    assert report.drifted_columns == []
    assert report.skipped == {"items": "type list<item: int64> is not tested"}


def test_dataset_versions_are_read_through_data_uris(project: Path) -> None:
    import loopml

    ref, cur = frames(3000, seed=11)
    ref.to_parquet(project / "customers.parquet")
    loopml.data.add(project / "customers.parquet", name="customers")
    report = loopml.data.drift(reference="data:/customers@latest", current=cur)
    assert report.reference_label == "data:/customers@latest"
    assert report.drifted_columns == ["moved", "color"]


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    ref, _ = frames(100)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidParameterError, match=r"bad\.parquet is not a readable Parquet"):
        drift(bad, ref)
    with pytest.raises(InvalidParameterError, match=r"bad\.parquet is not a readable Parquet"):
        drift(ref, bad)


def test_empty_constant_and_infinite_columns() -> None:
    empty = pd.DataFrame({"x": pd.Series([], dtype=float)})
    assert drift(empty, empty).skipped == {"x": "no non-missing values in the reference"}
    const = pd.DataFrame({"x": np.ones(2000), "i": np.r_[np.inf, -np.inf, np.arange(1998.0)]})
    report = drift(const, const)
    assert report.drifted_columns == []
    assert report["x"].statistic == 0.0
    assert report["i"].reference_missing == 2  # infinities count as missing
    assert report.to_html().count("<svg") == 2
