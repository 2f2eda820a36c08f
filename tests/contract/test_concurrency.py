"""Many processes logging into one store at once lose nothing and surface no lock errors."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from loopml.tracking.context import open_metadata_store

REST_CONTRACT = True  # runs against the REST client too (conftest.py)

N_PROCS = 4
N_POINTS = 25_000


def _sdk_writer(root: str, url: str, run_id: str, worker: int) -> None:
    import loopml

    loopml.configure(root, db_url=url)
    client = loopml.TrackingClient()
    for i in range(N_POINTS):
        client.log_metric(run_id, f"w{worker}", float(i), step=i)
        if i % 5000 == 0:
            client.set_tags(run_id, {f"progress.{worker}": str(i)})
    # no explicit flush: interpreter exit must write what is still queued


def _opener(url: str) -> None:
    open_metadata_store(url).close()


@pytest.mark.slow
def test_four_processes_log_100k_points(store_url: str, tmp_path: Path) -> None:
    store = open_metadata_store(store_url)
    run = store.create_run(store.create_experiment("concurrent").experiment_id)
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_sdk_writer, args=(str(tmp_path), store_url, run.run_id, w))
        for w in range(N_PROCS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * N_PROCS
    total = sum(len(store.get_metric_history(run.run_id, f"w{w}")) for w in range(N_PROCS))
    assert total == N_POINTS * N_PROCS
    assert store.get_run(run.run_id).metrics == {
        f"w{w}": float(N_POINTS - 1) for w in range(N_PROCS)
    }
    store.close()


def test_processes_opening_a_fresh_database_migrate_once(store_url: str) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_opener, args=(store_url,)) for _ in range(N_PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * N_PROCS
    store = open_metadata_store(store_url)
    assert store.list_experiments() == []
    store.close()
