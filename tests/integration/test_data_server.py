"""Dataset versions through a real server: the SDK and CLI unchanged, records on the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import loopml
from loopml import data
from loopml.cli.main import app
from loopml.data._stores import dataset_store
from loopml.store.metadata.data_rest import RestDatasetStore
from loopml.tracking import context as tracking_context
from loopml.tracking import fluent
from tests.support.server import Server, running_server

runner = CliRunner()


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    with running_server(tmp_path / "srv", auth=True) as server:
        root = tmp_path / "client"
        root.mkdir()
        (root / "loopml.toml").write_text("[loopml]\n")
        monkeypatch.chdir(root)
        monkeypatch.setenv("LOOPML_TRACKING_URI", server.url)
        monkeypatch.setenv("LOOPML_TOKEN", server.tokens["editor"])
        loopml.configure(root)
        fluent._experiment = None
        yield server
        fluent._experiment = None
        if tracking_context._context is not None:
            tracking_context._context.close()
            tracking_context._context = None


def test_versions_through_the_server(remote: Server, tmp_path: Path) -> None:
    assert isinstance(dataset_store(), RestDatasetStore)
    df = pd.DataFrame({"id": range(12), "x": [i / 2 for i in range(12)]})
    df.to_parquet("customers.parquet", index=False)
    v1 = data.add("customers.parquet", message="first")
    assert (v1.version, v1.num_rows) == (1, 12)
    assert data.add("customers.parquet") == v1  # identical content: no new version
    df.head(5).to_parquet("customers.parquet", index=False)
    v2 = data.add("customers.parquet")
    assert v2.version == 2
    assert [v.version for v in data.list_versions("customers")] == [2, 1]
    assert data.resolve("data:/customers@latest") == v2
    pd.testing.assert_frame_equal(data.read_table("data:/customers/1"), df)
    with loopml.start_run() as run:
        loopml.log_input("data:/customers/1")
    assert [i.uri for i in data.inputs_of_run(run.run_id)] == ["data:/customers/1"]
    data.checkout("customers@1", tmp_path / "out")
    assert len(pd.read_parquet(tmp_path / "out" / "customers.parquet")) == 12

    with remote.client("viewer") as http:
        listed = http.get("/api/v1/data/datasets").json()
        assert [d["name"] for d in listed["datasets"]] == ["customers"]
        shown = http.get("/api/v1/data/resolve", params={"uri": "data:/customers@latest"}).json()
        assert shown["version"] == 2
        missing = http.get("/api/v1/data/datasets/customers/versions/9")
        assert missing.status_code == 404
        denied = http.post(
            "/api/v1/data/inputs", json={"run_id": run.run_id, "name": "customers", "version": 1}
        )
        assert denied.status_code == 403

    result = runner.invoke(app, ["data", "log", "customers"])
    assert result.exit_code == 0 and "@2" in result.output
