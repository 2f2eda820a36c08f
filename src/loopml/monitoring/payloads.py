"""Reading a deployment's payload log between two times, through its index of Parquet objects.

The index (``DeploymentStore.list_payload_files``) names the objects that may hold rows in a
time range, so a window reads only its own files, never the whole log. Files are read in
parallel threads (Parquet decoding releases the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loopml.monitoring import _stores
from loopml.store.metadata.deployments_base import PAYLOAD_COLUMNS, PayloadFile

__all__ = ["COLUMNS", "read_payloads"]

COLUMNS = PAYLOAD_COLUMNS


def empty_table() -> Any:
    import pyarrow as pa

    types = {
        "status": pa.int32(),
        "latency_ms": pa.float64(),
        "ts_ms": pa.int64(),
        "shadow": pa.bool_(),
    }
    return pa.table({c: pa.array([], types.get(c, pa.string())) for c in COLUMNS})


def read_payloads(
    deployment: str,
    since_ms: int | None,
    until_ms: int | None,
    *,
    files: list[PayloadFile] | None = None,
) -> Any:
    """Payload rows with ``since_ms <= ts_ms < until_ms``, ordered by time then request id;
    ``files``: the index rows to read, when the caller already listed them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if files is None:
        files = _stores.deployment_store().list_payload_files(deployment, since_ms, until_ms)
    if not files:
        return empty_table()
    objects = _stores.object_store()

    def read(object_hash: str) -> Any:
        with objects.open(object_hash) as fh:
            return pq.read_table(fh)

    with ThreadPoolExecutor(max_workers=min(4, len(files))) as pool:
        tables = list(pool.map(read, [f.object_hash for f in files]))
    table = _conform(pa.concat_tables(tables, promote_options="default"))
    if table.num_rows == 0:
        return table
    ts = table.column("ts_ms")
    low, high = pc.min_max(ts).values()
    inside = (since_ms is None or low.as_py() >= since_ms) and (
        until_ms is None or high.as_py() < until_ms
    )
    if not inside:  # filtering copies every body: only when some rows are outside
        mask = pc.and_(
            pc.greater_equal(ts, since_ms if since_ms is not None else low),
            pc.less_equal(ts, high) if until_ms is None else pc.less(ts, until_ms),
        )
        table = table.filter(mask)
    return _sorted(table)


def _sorted(table: Any) -> Any:
    """By time then request id; the bodies are only moved when the files were out of order."""
    import numpy as np
    import pyarrow.compute as pc

    order = pc.sort_indices(
        table.select(["ts_ms", "request_id"]),
        sort_keys=[("ts_ms", "ascending"), ("request_id", "ascending")],
    ).to_numpy()
    if np.array_equal(order, np.arange(order.shape[0])):
        return table
    return table.take(order)


def _conform(table: Any) -> Any:
    """Columns an older writer did not have (protocol, content type) are null."""
    import pyarrow as pa

    for name in COLUMNS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table
