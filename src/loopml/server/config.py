"""What a server process serves and how: resolved once by ``loopml server`` (or a test)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from loopml.errors import InvalidParameterError

DEFAULT_MAX_BODY = 64 << 20  # JSON bodies; streamed artifact uploads have no limit


@dataclass(frozen=True)
class ServerConfig:
    db_url: str
    objects_url: str
    auth: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    insecure: bool = False

    def check(self) -> None:
        """Refuse to serve without auth on a network interface unless told ``--insecure``."""
        if self.max_body_bytes <= 0:
            raise InvalidParameterError("the body size limit must be positive")
        if self.workers < 1:
            raise InvalidParameterError(f"--workers must be at least 1, got {self.workers}")
        if not self.auth and not self.insecure and not is_loopback(self.host):
            raise InvalidParameterError(
                f"refusing to serve on {self.host} without authentication: anyone who can reach "
                "it could read and change every run. Add --auth (and create tokens with "
                "`loopml tokens create`), or pass --insecure on a network you trust"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
