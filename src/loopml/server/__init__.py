"""The team server: one REST API over the metadata and object stores (``loopml server``).

Routes parse, call the store layer and serialise; errors become one JSON envelope in
:mod:`loopml.server.envelope`; permissions are checked by one dependency in
:mod:`loopml.server.deps`; every mutation lands in the audit log through
:mod:`loopml.server.audit`. See docs/server.md.
"""

from loopml.server.app import create_app
from loopml.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
