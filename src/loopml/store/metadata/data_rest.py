"""Dataset records over HTTP: the same interface as the SQL store, talking to ``/api/v1/data``
of a loopml server (the routes in ``loopml/server/routes/data.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from loopml.store.metadata._http import HttpClient
from loopml.store.metadata.data_base import DatasetStore, NewVersion
from loopml.store.metadata.data_entities import DatasetSummary, DatasetVersion, RunInput

__all__ = ["RestDatasetStore"]

API = "/api/v1/data"


def _dataset(name: str) -> str:
    return f"/datasets/{quote(name, safe='')}"


def _run_input(body: dict[str, Any]) -> RunInput:
    return RunInput(
        body["run_id"], body["name"], body["version"], body["context"], body["created_ms"]
    )


class RestDatasetStore(DatasetStore):
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.http.json(method, API + path, **kwargs)

    def create_version(self, name: str, fields: NewVersion) -> tuple[DatasetVersion, bool]:
        # Safe to resend: identical content returns the version the first attempt made.
        body = self._json("POST", f"{_dataset(name)}/versions", json=dict(fields), idempotent=True)
        return DatasetVersion.from_dict(body["version"]), bool(body["created"])

    def get_version(self, name: str, version: int | None = None) -> DatasetVersion:
        which = "latest" if version is None else str(int(version))
        return DatasetVersion.from_dict(self._json("GET", f"{_dataset(name)}/versions/{which}"))

    def list_versions(self, name: str) -> list[DatasetVersion]:
        body = self._json("GET", f"{_dataset(name)}/versions")
        return [DatasetVersion.from_dict(v) for v in body["versions"]]

    def list_datasets(self) -> list[DatasetSummary]:
        body = self._json("GET", "/datasets")
        return [
            DatasetSummary(
                d["name"], d["latest_version"], d["versions"], d["size"], d["updated_ms"]
            )
            for d in body["datasets"]
        ]

    def set_profile(self, name: str, version: int, profile: dict[str, Any] | None) -> None:
        self._json(
            "PUT",
            f"{_dataset(name)}/versions/{int(version)}/profile",
            json={"profile": profile},
            idempotent=True,
        )

    def log_input(self, run_id: str, name: str, version: int, context: str) -> RunInput:
        body = {"run_id": run_id, "name": name, "version": int(version), "context": context}
        return _run_input(self._json("POST", "/inputs", json=body, idempotent=True))

    def inputs_of_run(self, run_id: str) -> list[RunInput]:
        body = self._json("GET", "/inputs", params={"run_id": run_id})
        return [_run_input(r) for r in body["inputs"]]

    def runs_of_version(self, name: str, version: int) -> list[RunInput]:
        body = self._json("GET", f"{_dataset(name)}/versions/{int(version)}/runs")
        return [_run_input(r) for r in body["inputs"]]
