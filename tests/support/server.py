"""A real loopml server on a free port of 127.0.0.1 (uvicorn in a thread), per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from loopml.server import ServerConfig
from loopml.server.run import serve_in_thread
from loopml.store.metadata.auth import Role
from loopml.store.metadata.auth_sql import SqlAuthStore
from loopml.store.metadata.sql import SqlMetadataStore


@dataclass
class Server:
    url: str
    db_url: str
    objects: Path
    tokens: dict[str, str]  # role -> token, when auth is on

    def client(self, role: str | None = None, token: str | None = None) -> httpx.Client:
        headers = {}
        secret = token or (self.tokens.get(role) if role else None)
        if secret:
            headers["authorization"] = f"Bearer {secret}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def running_server(
    tmp: Path, *, auth: bool = False, max_body_bytes: int = 1 << 20
) -> Iterator[Server]:
    db_url = f"sqlite:///{tmp / 'server.db'}"
    tokens: dict[str, str] = {}
    if auth:
        store = SqlMetadataStore(db_url)
        users = SqlAuthStore(store.engine)
        for role in Role:
            users.add_user(f"{role.value}-user", role)
            tokens[role.value] = users.create_token(f"{role.value}-user").secret
        store.close()
    config = ServerConfig(
        db_url=db_url, objects_url=str(tmp / "objects"), auth=auth, max_body_bytes=max_body_bytes
    )
    with serve_in_thread(config) as url:
        yield Server(url, db_url, tmp / "objects", tokens)
