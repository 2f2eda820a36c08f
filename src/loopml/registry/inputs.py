"""The dataset versions a run read, as the links a model version keeps.

Two sources, both optional: the data package's run inputs (``loopml.log_input``) and run tags
that name data URIs (``loopml.input.<context>`` = ``data:/<name>/<version>``), for runs logged
by tools that only write tags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.errors import LoopmlError
from loopml.registry._stores import dataset_store
from loopml.store.metadata.registry_entities import DatasetLink

if TYPE_CHECKING:
    from loopml.store.metadata.entities import Run
    from loopml.tracking.context import Context

TAG_PREFIX = "loopml.input."


def dataset_links(ctx: Context, run: Run) -> list[DatasetLink]:
    links: dict[str, DatasetLink] = {}
    store = dataset_store(ctx)
    if store is not None:
        try:
            inputs = store.inputs_of_run(run.run_id)
        except LoopmlError:
            inputs = []
        for item in inputs:
            try:
                digest: str | None = store.get_version(item.name, item.version).manifest_hash
            except LoopmlError:
                digest = None
            links[item.uri] = DatasetLink(item.uri, digest, item.context)
    for key, value in run.tags.items():
        if key.startswith(TAG_PREFIX) and value.startswith("data:/") and value not in links:
            links[value] = DatasetLink(value, None, key[len(TAG_PREFIX) :] or None)
    return sorted(links.values(), key=lambda link: link.uri)
