"""check_environment, the container build context, and their CLI commands."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

import loopml
from loopml.cli.main import app
from loopml.errors import AlreadyExistsError
from loopml.models import check_environment, save_model, write_build_context
from loopml.models.manifest import MANIFEST_FILE
from loopml.models.venv import loopml_install_args

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")


@pytest.fixture
def package(tmp_path: Path, arrays: tuple[Any, Any]) -> Path:
    from sklearn.linear_model import LogisticRegression

    x, y = arrays
    path = tmp_path / "pkg"
    save_model(LogisticRegression().fit(x, y), path, input_example=x[:3])
    return path


def _edit_requirements(package: Path, requirements: list[str]) -> None:
    """Rewrite the manifest's requirements (the manifest is not itself in its hash list)."""
    body = orjson.loads((package / MANIFEST_FILE).read_bytes())
    body["requirements"] = requirements
    (package / MANIFEST_FILE).write_bytes(orjson.dumps(body))


def test_the_saving_environment_satisfies_its_own_package(package: Path) -> None:
    report = check_environment(package)
    assert report.ok, report.to_dict()
    assert report.python_running == platform.python_version()


def test_mismatches_are_reported(package: Path) -> None:
    _edit_requirements(
        package, ["numpy==0.0.1", "no-such-dist-loopml-test==1.0", "scikit-learn>=1"]
    )
    report = check_environment(package)
    assert not report.ok
    problems = {m.requirement: (m.problem, m.installed) for m in report.mismatches}
    assert problems["numpy==0.0.1"] == ("version", np.__version__)
    assert problems["no-such-dist-loopml-test==1.0"] == ("missing", None)
    assert "scikit-learn>=1" not in problems


def test_build_context(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    dockerfile = write_build_context(package, out)
    text = dockerfile.read_text()
    minor = ".".join(platform.python_version_tuple()[:2])
    assert f"FROM python:{minor}-slim" in text
    assert "USER loopml" in text and "useradd" in text
    assert "HEALTHCHECK" in text
    assert "pip install --no-cache-dir -r /opt/requirements.txt" in text
    entry = next(line for line in text.splitlines() if line.startswith("ENTRYPOINT"))
    assert json.loads(entry.removeprefix("ENTRYPOINT ")) == [
        "loopml", "serve", "/opt/model", "--host", "0.0.0.0", "--port", "8080"
    ]  # fmt: skip
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert all("==" in r for r in requirements)
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert f"loopml=={loopml.__version__}" in requirements
    assert (out / "model" / MANIFEST_FILE).is_file() and (out / "model" / "model.pkl").is_file()
    with pytest.raises(AlreadyExistsError, match="--force"):
        write_build_context(package, out)
    write_build_context(package, out, overwrite=True)


def test_loopml_installs_from_its_source_here() -> None:
    args = loopml_install_args()
    repo = Path(__file__).resolve().parents[3]
    assert Path(args[-1]) == repo or args[-1].startswith("loopml==")


def test_cli_check_and_dockerfile(package: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["models", "check", str(package)])
    assert result.exit_code == 0, result.output
    assert "requirements are met" in result.output
    result = runner.invoke(app, ["models", "dockerfile", str(package), "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "Dockerfile").is_file()
    _edit_requirements(package, ["numpy==0.0.1"])
    result = runner.invoke(app, ["models", "check", str(package), "--json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["ok"] is False and body["mismatches"][0]["problem"] == "version"


def test_cli_bad_uri_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["models", "check", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "no model package" in result.output and "Traceback" not in result.output


def test_cli_env_reports_the_build(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.models import venv

    def fake_build(uri: str, venv_dir: Path) -> venv.EnvBuild:
        return venv.EnvBuild(
            venv_dir=Path(venv_dir),
            python=Path(venv_dir) / "bin" / "python",
            installer="pip",
            installed=["numpy==1"],
            seconds=3.0,
            output=[0, 1],
            same_as_here=False,
        )

    monkeypatch.setattr(venv, "build_env", fake_build)
    result = CliRunner().invoke(
        app, ["models", "env", str(package), "--venv", str(tmp_path / "v"), "--json"]
    )
    assert result.exit_code == 1  # predictions differ from this environment's
    body = json.loads(result.output)
    assert body["ok"] is False and body["same_predictions_as_here"] is False


def test_cli_on_a_logged_model_uri(project: Path, arrays: tuple[Any, Any], tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = arrays
    with loopml.start_run():
        info = loopml.log_model(LogisticRegression().fit(x, y), "model", input_example=x[:2])
    runner = CliRunner()
    result = runner.invoke(app, ["models", "check", info.uri, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True
    out = tmp_path / "ctx"
    result = runner.invoke(app, ["models", "dockerfile", info.uri, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert info.package_hash[:12] in (out / "Dockerfile").read_text()


def test_local_build_labels_are_dropped_in_the_image(package: Path, tmp_path: Path) -> None:
    _edit_requirements(package, ["torch==2.13.0+cpu", "numpy==2.0.0"])
    write_build_context(package, tmp_path / "b")
    requirements = (tmp_path / "b" / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in requirements and "numpy==2.0.0" in requirements
