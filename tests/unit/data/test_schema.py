"""DataSchema: inference, a readable YAML round trip, and typos that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.data.profiling import profile
from loopml.data.schema import ColumnSchema, DataSchema, infer_schema
from loopml.errors import InvalidParameterError, NotFoundError


@pytest.fixture
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 500
    age = rng.integers(18, 90, n).astype(float)
    age[:10] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": pd.array(age).astype("Int64"),
            "country": rng.choice(["DE", "FR", "US"], n),
            "income": rng.normal(50_000, 10_000, n),
            "email": [f"u{i}@x.org" for i in range(n)],
            "active": rng.random(n) > 0.3,
        }
    )


def test_infer_types_nullability_ranges_categories_uniqueness(customers: pd.DataFrame) -> None:
    schema = infer_schema(customers)
    assert {n: c.type for n, c in schema.columns.items()} == {
        "id": "integer",
        "age": "integer",
        "country": "string",
        "income": "float",
        "email": "string",
        "active": "boolean",
    }
    assert schema["id"].unique and schema["id"].min is None  # ids grow: no range
    assert schema["email"].unique and schema["email"].categories is None
    assert schema["age"].nullable and schema["age"].max_missing_rate == pytest.approx(0.03)
    assert not schema["country"].nullable
    assert schema["country"].categories == ["DE", "FR", "US"]
    assert (schema["age"].min, schema["age"].max) == (18, 89)
    income = customers["income"]
    assert schema["income"].min < income.min() and schema["income"].max > income.max()


def test_infer_from_a_stored_profile_equals_infer_from_data(customers: pd.DataFrame) -> None:
    assert infer_schema(profile(customers)).columns == infer_schema(customers).columns


def test_yaml_round_trip_and_readability(customers: pd.DataFrame, tmp_path: Path) -> None:
    schema = infer_schema(customers)
    schema.min_rows = 100
    schema.keys = ["id"]
    path = tmp_path / "schemas" / "customers.yaml"
    text = schema.to_yaml(path)
    assert "categories: [DE, FR, US]" in text
    assert text.startswith("# loopml data schema")
    back = DataSchema.from_yaml(path)
    assert back.columns == schema.columns
    assert (back.min_rows, back.keys, back.extra_columns) == (100, ["id"], "warn")
    assert back.source == str(path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


GOOD = """\
loopml_schema: 1
columns:
  age:
    type: integer
    nullable: false
    min: 0
"""


def test_typo_in_a_column_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("nullable", "nulable"))
    with pytest.raises(InvalidParameterError) as info:
        DataSchema.from_yaml(path)
    message = info.value.message
    assert f"{path}:5:" in message
    assert "unknown key 'nulable' in column 'age'" in message
    assert "did you mean 'nullable'" in message
    assert info.value.details["line"] == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("columns:", "colums:"),
            r":2: unknown key 'colums' \(did you mean 'columns'\?\)",
        ),
        (GOOD.replace("type: integer", "type: int"), r":4: type of column 'age' is 'int'"),
        (GOOD.replace("min: 0", "min: zero"), r":6: 'min' of column 'age' must be a number"),
        (GOOD.replace("nullable: false", "nullable: 3"), r":5: 'nullable' .* true or false"),
        (GOOD + "extra_columns: maybe\n", r"extra_columns must be one of warn, error, allow"),
        (GOOD + "keys: [nope]\n", r"key column 'nope' is not among the columns"),
        ("loopml_schema: 1\n", r"no 'columns' section"),
        ("columns: [a, b\n", r"not valid YAML"),
        ("", r"empty"),
        (GOOD.replace("    min: 0\n", "    min: 5\n    max: 1\n"), r"min is above max"),
        (GOOD.replace("    type: integer\n", ""), r"column 'age' has no 'type'"),
    ],
)
def test_bad_schema_files_are_invalid_parameter_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidParameterError, match=expected) as info:
        DataSchema.from_yaml(path)
    assert str(path) in info.value.message


def test_missing_schema_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        DataSchema.from_yaml(tmp_path / "none.yaml")


def test_hand_written_schema() -> None:
    schema = DataSchema.from_yaml_text(GOOD + "min_rows: 10\nkeys: age\n", "inline")
    assert schema.columns["age"] == ColumnSchema("age", "integer", nullable=False, min=0)
    assert schema.min_rows == 10 and schema.keys == ["age"]
