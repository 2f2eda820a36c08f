"""``loopml data schema infer | validate | drift | profile`` on files in a project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from loopml.cli.main import app

runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture
def files(project: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    n = 2000
    ref = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "country": rng.choice(["DE", "FR", "US"], n),
            "score": rng.normal(0, 1, n),
        }
    )
    cur = ref.assign(score=ref["score"] + 1.0)
    cur.loc[0, "country"] = "XX"
    ref.to_parquet(project / "ref.parquet")
    cur.to_csv(project / "cur.csv", index=False)
    return project / "ref.parquet", project / "cur.csv"


def test_schema_infer_then_validate(files: tuple[Path, Path], project: Path) -> None:
    ref, cur = files
    code, out = invoke("data", "schema", "infer", ref, "-o", "schemas/ref.yaml")
    assert code == 0 and "3 columns" in out
    assert (project / "schemas" / "ref.yaml").exists()
    code, out = invoke("data", "validate", ref, "--schema", "schemas/ref.yaml")
    assert code == 0 and "valid" in out
    code, out = invoke("data", "validate", cur, "--schema", "schemas/ref.yaml", "-o", "v.html")
    assert code == 1
    assert "unseen_category" in out and "XX" in out
    assert "unseen_category" in (project / "v.html").read_text()
    code, out = invoke("data", "validate", cur, "--schema", "schemas/ref.yaml", "--json")
    assert code == 1 and orjson.loads(out)["ok"] is False


def test_schema_infer_prints_yaml_without_output(files: tuple[Path, Path]) -> None:
    code, out = invoke("data", "schema", "infer", files[0])
    assert code == 0 and "categories: [DE, FR, US]" in out


def test_drift_writes_html_and_json(files: tuple[Path, Path], project: Path) -> None:
    ref, cur = files
    code, out = invoke("data", "drift", ref, cur, "-o", "drift.html")
    assert code == 0, out
    assert "score" in out and "drift" in out
    assert (project / "drift.html").read_text().count("<svg") == 3
    code, out = invoke("data", "drift", ref, cur, "--json", "--test", "age=psi")
    data = orjson.loads(out)
    assert data["drifted_columns"] == ["score"] and data["columns"]["age"]["test"] == "psi"
    code, _ = invoke("data", "drift", ref, cur, "--share", "0.3", "--fail-on-drift")
    assert code == 1


def test_profile_prints_a_table_and_json(files: tuple[Path, Path]) -> None:
    code, out = invoke("data", "profile", files[0])
    assert code == 0 and "2,000 rows" in out and "country" in out
    code, out = invoke("data", "profile", files[0], "--json")
    assert orjson.loads(out)["rows"] == 2000


def test_bad_input_is_a_clear_error(files: tuple[Path, Path], project: Path) -> None:
    (project / "bad.yaml").write_text("loopml_schema: 1\ncolumns:\n  age: {typ: integer}\n")
    code, out = invoke("data", "validate", files[0], "--schema", "bad.yaml")
    assert code == 2 and "bad.yaml:3: unknown key 'typ'" in out
    code, out = invoke("data", "drift", files[0], "missing.parquet")
    assert code != 0 and "missing.parquet" in out
    code, out = invoke("data", "drift", files[0], files[1], "--test", "age")
    assert code == 2 and "COLUMN=TEST" in out


def test_profile_save_stores_it_with_the_version_for_drift(
    files: tuple[Path, Path], project: Path
) -> None:
    import loopml

    ref, cur = files
    loopml.data.add(ref, name="customers")
    code, out = invoke("data", "profile", "customers@1", "--save")
    assert code == 0, out
    stored = loopml.data.resolve("customers@1").profile
    assert stored is not None and stored["rows"] == 2000
    report = loopml.data.drift(reference=stored, current=cur)
    assert report.source == "profiles" and report.drifted_columns == ["score"]
    code, out = invoke("data", "drift", "customers@1", cur, "--profiles", "--json")
    assert code == 0, out
    data = orjson.loads(out)
    assert data["approximate"] and data["drifted_columns"] == ["score"]
    code, out = invoke("data", "profile", ref, "--save")
    assert code == 2 and "--save needs a dataset version" in out
    loopml.data.add(cur, name="fresh")
    code, out = invoke("data", "drift", "fresh@1", ref, "--profiles")
    assert code == 2 and "has no stored profile" in out
