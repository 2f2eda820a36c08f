"""The search space is checked before any trial runs; each mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.pipeline.tune_space import load_space

GOOD = {
    "n_estimators": {"type": "int", "low": 50, "high": 300},
    "max_depth": {"type": "int", "low": 2, "high": 12, "log": False},
    "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "frac": {"type": "float", "low": 0.1, "high": 0.9, "step": 0.1},
}


def test_a_valid_space_parses_in_order() -> None:
    dims = load_space(GOOD)
    assert [d.name for d in dims] == list(GOOD)
    assert dims[0].type == "int" and dims[0].low == 50 and dims[0].high == 300
    assert dims[2].choices == ("gini", "entropy")
    assert dims[3].log is True and dims[4].step == pytest.approx(0.1)


def test_a_yaml_file_is_a_space(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(
        "n_estimators: {type: int, low: 50, high: 300}\n"
        "lr: {type: float, low: 1.0e-4, high: 0.1, log: true}\n"
    )
    assert [d.name for d in load_space(path)] == ["n_estimators", "lr"]
    assert [d.name for d in load_space(str(path))] == ["n_estimators", "lr"]


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_space(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\n")
    with pytest.raises(InvalidParameterError, match="not valid YAML"):
        load_space(broken)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "int", "low": 5, "high": 1}, "'low' .5. is greater than 'high'"),
        ({"type": "integer", "low": 1, "high": 2}, "'type' must be one of"),
        ({"low": 1, "high": 2}, "'type' must be one of"),
        ({"type": "int", "low": 1}, "needs 'high'"),
        ({"type": "int", "low": 1.5, "high": 3}, "'low' must be an integer"),
        ({"type": "float", "low": "a", "high": 3}, "'low' must be a number"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "needs 'low' > 0"),
        ({"type": "float", "low": 0.1, "high": 1.0, "log": "yes"}, "'log' must be true or false"),
        ({"type": "float", "low": 0.1, "high": 1.0, "lg": True}, "unknown field.s. lg"),
        ({"type": "int", "low": 1, "high": 9, "step": 0}, "'step' must be positive"),
        ({"type": "int", "low": 1, "high": 9, "step": 2, "log": True}, "cannot be combined"),
        ({"type": "categorical", "choices": []}, "non-empty list"),
        ({"type": "categorical", "choices": ["a", "a"]}, "holds a value twice"),
        ({"type": "categorical", "choices": [{"x": 1}]}, "is not a string, number"),
        ({"type": "float", "low": float("nan"), "high": 1.0}, "must be finite"),
        ("int 1..5", "expected a mapping"),
    ],
)
def test_bad_entries_name_the_key(spec: object, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message) as info:
        load_space({"depth": spec})
    assert "'depth'" in info.value.message


def test_empty_space_and_bad_names() -> None:
    with pytest.raises(InvalidParameterError, match="non-empty mapping"):
        load_space({})
    with pytest.raises(InvalidParameterError, match=r"'max-depth'.*identifiers"):
        load_space({"max-depth": {"type": "int", "low": 1, "high": 2}})
