"""Deployment records over HTTP: the same interface as the SQL store, talking to
``/api/v1/deployments`` of a loopml server (``loopml/server/routes/deployments.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from loopml.store.metadata._http import HttpClient
from loopml.store.metadata.deployments_base import (
    DeploymentRecord,
    DeploymentStore,
    PayloadFile,
    RouteCounter,
)

__all__ = ["RestDeploymentStore"]

API = "/api/v1/deployments"


def _path(name: str) -> str:
    return f"{API}/{quote(name, safe='')}"


def _record(body: dict[str, Any]) -> DeploymentRecord:
    return DeploymentRecord(
        body["name"],
        body["version"],
        body["config"],
        body["created_ms"],
        body.get("message"),
        body.get("user"),
        bool(body.get("current")),
    )


class RestDeploymentStore(DeploymentStore):
    """The server records who changed what (its caller's token), so ``user`` is not sent."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def create_deployment(
        self, name: str, config: dict[str, Any], user: str | None, message: str | None = None
    ) -> DeploymentRecord:
        return _record(self.http.json("POST", API, json={"name": name, "config": config}))

    def add_version(
        self, name: str, config: dict[str, Any], user: str | None, message: str | None = None
    ) -> DeploymentRecord:
        body = {"config": config, "message": message}
        return _record(self.http.json("POST", f"{_path(name)}/versions", json=body))

    def get_deployment(self, name: str, version: int | None = None) -> DeploymentRecord:
        if version is None:
            return _record(self.http.json("GET", _path(name)))
        return _record(self.http.json("GET", f"{_path(name)}/versions/{int(version)}"))

    def list_deployments(self) -> list[DeploymentRecord]:
        return [_record(d) for d in self.http.json("GET", API)["deployments"]]

    def list_versions(self, name: str) -> list[DeploymentRecord]:
        return [_record(v) for v in self.http.json("GET", f"{_path(name)}/versions")["versions"]]

    def delete_deployment(self, name: str) -> None:
        self.http.request("DELETE", _path(name))

    def add_counters(self, name: str, counters: list[RouteCounter]) -> None:
        body = {
            "counters": [
                {k: v for k, v in c.to_dict().items() if k != "updated_ms"} for c in counters
            ]
        }
        self.http.json("POST", f"{_path(name)}/counters", json=body)

    def get_counters(self, name: str) -> list[RouteCounter]:
        return [
            RouteCounter(
                c["route"],
                c["model_uri"],
                c["requests"],
                c["errors"],
                c["latency_ms_sum"],
                c["updated_ms"],
                dropped=c.get("dropped", 0),
            )
            for c in self.http.json("GET", _path(name))["counters"]
        ]

    def add_payload_file(self, deployment: str, f: PayloadFile) -> None:
        # adding the same object twice is a no-op, so a lost answer may be retried
        self.http.json(
            "POST", f"{_path(deployment)}/payload-files", json=f.to_dict(), idempotent=True
        )

    def list_payload_files(
        self, deployment: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[PayloadFile]:
        params = {
            k: v for k, v in (("since_ms", since_ms), ("until_ms", until_ms)) if v is not None
        }
        body = self.http.json("GET", f"{_path(deployment)}/payload-files", params=params)
        return [
            PayloadFile(
                f["object_hash"], f["rows"], f["min_ts_ms"], f["max_ts_ms"], f["created_ms"]
            )
            for f in body["files"]
        ]
