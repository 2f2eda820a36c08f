"""validate(): each anomaly kind, custom checks, and raise_if_failed carrying the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loopml.data.schema import ColumnSchema, DataSchema
from loopml.data.validation import Anomaly, ValidationFailedError, validate
from loopml.errors import DataValidationError, InvalidParameterError

SCHEMA = DataSchema(
    columns={
        "id": ColumnSchema("id", "integer", nullable=False, unique=True),
        "age": ColumnSchema("age", "integer", min=18, max=120, max_missing_rate=0.1),
        "country": ColumnSchema("country", "string", nullable=False, categories=["DE", "FR"]),
        "score": ColumnSchema("score", "float"),
    },
    min_rows=3,
)


def good() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "age": [20, 30, 40, 50],
            "country": ["DE", "FR", "DE", "FR"],
            "score": [0.1, 0.2, 0.3, 0.4],
        }
    )


def kinds(
    df: pd.DataFrame | pa.Table, schema: DataSchema = SCHEMA
) -> dict[tuple[str | None, str], str]:
    return {(a.column, a.kind): a.severity for a in validate(df, schema).anomalies}


def test_valid_data_has_no_anomalies() -> None:
    report = validate(good(), SCHEMA)
    assert report.ok and report.anomalies == [] and report.rows == 4
    assert report.raise_if_failed() is report


def test_missing_and_unexpected_columns() -> None:
    df = good().drop(columns=["score"]).assign(extra=1)
    assert kinds(df) == {
        ("score", "missing_column"): "error",
        ("extra", "unexpected_column"): "warning",
    }
    strict = DataSchema(columns=SCHEMA.columns, extra_columns="error")
    assert kinds(df, strict)[("extra", "unexpected_column")] == "error"
    relaxed = DataSchema(columns=SCHEMA.columns, extra_columns="allow")
    assert ("extra", "unexpected_column") not in kinds(df, relaxed)


def test_type_mismatch_stops_value_checks_for_the_column() -> None:
    df = good().assign(age=["old", "young", "old", "x"])
    assert kinds(df) == {("age", "type_mismatch"): "error"}


def test_whole_floats_in_an_integer_column_are_a_warning() -> None:
    df = good().assign(age=[20.0, 30.0, np.nan, 50.0])
    found = kinds(df)
    assert found[("age", "type_mismatch")] == "warning"
    assert ("age", "missing_rate") in found  # 25% > 10%


def test_out_of_range_values() -> None:
    report = validate(good().assign(age=[20, 17, 121, 50]), SCHEMA)
    (anomaly,) = report.anomalies
    assert (anomaly.column, anomaly.kind, anomaly.severity) == ("age", "out_of_range", "error")
    assert anomaly.observed == {"min": 17, "max": 121, "count": 2}
    assert anomaly.expected == {"min": 18, "max": 120}


def test_unseen_categories_list_examples() -> None:
    report = validate(good().assign(country=["DE", "US", "US", "IT"]), SCHEMA)
    (anomaly,) = report.anomalies
    assert anomaly.kind == "unseen_category"
    assert anomaly.observed == ["US", "IT"]
    assert "3 values in 2 categories" in anomaly.message


def test_nulls_in_a_non_nullable_column_and_missing_rate() -> None:
    df = good().assign(country=["DE", None, "FR", "DE"], score=[np.nan, 1.0, 2.0, 3.0])
    found = kinds(df)
    assert found == {("country", "missing_values"): "error"}
    tight = DataSchema(columns={"score": ColumnSchema("score", "float", max_missing_rate=0.2)})
    assert kinds(df[["score"]], tight) == {("score", "missing_rate"): "error"}


def test_duplicate_keys_single_and_composite() -> None:
    df = good().assign(id=[1, 1, 2, 3])
    assert kinds(df) == {("id", "duplicate_keys"): "error"}
    composite = DataSchema(columns=SCHEMA.columns, keys=["country", "age"])
    df2 = good().assign(age=[20, 20, 20, 50], country=["DE", "DE", "DE", "FR"])
    report = validate(df2, composite)
    (anomaly,) = report.anomalies
    assert anomaly.column == "country, age" and anomaly.kind == "duplicate_keys"
    assert "1 key values occur more than once (2 extra rows)" in anomaly.message


def test_too_few_rows() -> None:
    assert kinds(good().head(2)) == {(None, "too_few_rows"): "error"}


def test_a_mixed_type_column_is_reported_clearly() -> None:
    df = good().assign(age=[20, "thirty", 40.5, 50])
    report = validate(df, SCHEMA)
    (anomaly,) = report.anomalies
    assert anomaly.kind == "mixed_types" and anomaly.column == "age"
    assert anomaly.observed == ["float", "int", "str"]
    assert "mixes value types (float, int, str)" in anomaly.message


def test_custom_checks_in_every_return_form() -> None:
    def positive_scores(df: pd.DataFrame) -> bool:
        return bool((df["score"] > 0).all())

    def has_rows(df: pd.DataFrame) -> str | None:
        return None if len(df) else "empty"

    def broken(df: pd.DataFrame) -> bool:
        raise KeyError("nope")

    checks = [
        positive_scores,
        has_rows,
        lambda df: "scores too low" if df["score"].mean() < 1 else "",
        lambda df: [Anomaly("score", "custom", "warning", "looks odd"), "second"],
        broken,
    ]
    report = validate(good(), SCHEMA, checks=checks)
    messages = [(a.severity, a.message) for a in report.anomalies]
    assert messages == [
        ("error", "<lambda>: scores too low"),
        ("warning", "looks odd"),
        ("error", "<lambda>: second"),
        ("error", "check 'broken' raised KeyError: 'nope'"),
    ]
    failing = validate(good().assign(score=-1.0), checks={"positive": positive_scores})
    assert [a.message for a in failing.anomalies] == ["check 'positive' failed"]
    with pytest.raises(InvalidParameterError, match="returned a int"):
        validate(good(), checks=[lambda df: 3])


def test_raise_if_failed_carries_the_report() -> None:
    report = validate(good().assign(age=[1, 2, 3, 4]), SCHEMA)
    with pytest.raises(DataValidationError) as info:
        report.raise_if_failed()
    assert isinstance(info.value, ValidationFailedError)
    assert info.value.report is report
    assert info.value.code == "DATA_VALIDATION_FAILED"
    assert "age: 4 values outside [18, 120]" in info.value.message
    assert info.value.to_dict()["details"]["anomalies"][0]["kind"] == "out_of_range"


def test_schema_from_a_yaml_path_and_arrow_input(tmp_path: Path) -> None:
    SCHEMA.to_yaml(tmp_path / "s.yaml")
    report = validate(pa.Table.from_pandas(good()), tmp_path / "s.yaml")
    assert report.ok and report.schema == str(tmp_path / "s.yaml")
    assert '"ok": true' in report.to_json()


def test_validation_is_vectorised_on_a_million_rows() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 121, n),
            "country": rng.choice(["DE", "FR"], n),
            "score": rng.random(n),
        }
    )
    assert validate(table, SCHEMA).ok


def test_html_report_lists_anomalies(tmp_path: Path) -> None:
    report = validate(good().assign(country=["DE", "<i>x</i>", "FR", "DE"]), SCHEMA)
    page = report.to_html(tmp_path / "v.html")
    assert "unseen_category" in page and "1 error(s)" in page
    assert "<i>x</i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page


def test_a_schema_inferred_from_data_accepts_that_data() -> None:
    from loopml.data.schema import infer_schema

    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "const": np.ones(500),
            "inf": np.r_[np.inf, np.nan, rng.normal(size=498)],
            "cat": rng.choice(["a", "b"], 500),
            "n": rng.integers(0, 9, 500),
        }
    )
    assert validate(df, infer_schema(df)).anomalies == []
