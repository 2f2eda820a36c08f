"""The team setup end to end: the SDK logging to PostgreSQL + S3 (moto server), as configured
by the environment variables a user sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml
from loopml.tracking import context as tracking_context
from tests.support.s3 import S3Endpoint, s3_server  # noqa: F401
from tests.support.services import postgres_schema


@pytest.fixture
def team_project(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Endpoint,  # noqa: F811
) -> Iterator[Path]:
    bucket = s3_server.new_bucket()
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    with postgres_schema() as url:
        monkeypatch.setenv("LOOPML_DB_URL", url)
        monkeypatch.setenv("LOOPML_OBJECT_STORE", f"s3://{bucket}/loopml")
        loopml.configure(tmp_path)
        yield tmp_path
        while loopml.active_run() is not None:
            loopml.end_run()
        if tracking_context._context is not None:
            tracking_context._context.close()
            tracking_context._context = None


@pytest.mark.postgres
@pytest.mark.s3
def test_sdk_logs_to_postgres_and_s3(team_project: Path) -> None:
    import pandas as pd

    df = pd.DataFrame({"a": range(100)})
    folder = team_project / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00" * 10_000)
    loopml.set_experiment("team")
    with loopml.start_run() as run:
        loopml.log_params({"lr": 0.1})
        for i in range(1000):
            loopml.log_metric("loss", 1 / (i + 1), step=i)
        loopml.log_table(df, "predictions")
        loopml.log_artifacts(folder)
    ctx = tracking_context.get_context()
    assert ctx.settings.db_url.startswith("postgresql")
    assert ctx.objects.url.startswith("s3://")
    runs = loopml.search_runs("team", filter="metrics.loss < 0.01")
    assert [r.run_id for r in runs] == [run.run_id]
    assert loopml.load_table(f"runs:/{run.run_id}/predictions").equals(df)
    out = loopml.download_artifacts(f"runs:/{run.run_id}/model", team_project / "out")
    assert (out / "weights.bin").read_bytes() == b"\x00" * 10_000
