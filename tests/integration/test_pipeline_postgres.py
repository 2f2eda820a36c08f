"""Pipeline records on PostgreSQL: the upserts, batches and cache lookups of the SQL store."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import loopml
from loopml.pipeline import explain_cache, load_pipeline, resume, run_pipeline
from tests.support.services import postgres_schema

pytestmark = pytest.mark.postgres


def test_pipeline_runs_caches_and_resumes_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "loopml.toml").write_text("[loopml]\n")
    monkeypatch.chdir(root)
    (root / "pg_pipe.py").write_text(
        textwrap.dedent(
            """
            import os
            from loopml.pipeline import pipeline, step

            @step
            def make(n: int) -> list:
                return list(range(n))

            @step
            def total(xs: list) -> dict:
                if os.environ.get("PG_FAIL") == "1":
                    raise RuntimeError("boom")
                return {"sum": float(sum(xs))}

            @pipeline
            def p(n: int = 3):
                total(make(n))
            """
        )
    )
    with postgres_schema() as url:
        loopml.configure(root, db_url=url)
        try:
            pipe = load_pipeline(f"{root / 'pg_pipe.py'}:p")
            monkeypatch.setenv("PG_FAIL", "1")
            failed = run_pipeline(pipe)
            assert failed.status == "FAILED"
            monkeypatch.setenv("PG_FAIL", "0")
            done = resume(failed.id)
            assert done.status == "FINISHED", done.error
            assert done.output("total") == {"sum": 3.0}
            again = run_pipeline(pipe)
            assert {s.status for s in again.steps.values()} == {"CACHED"}
            assert explain_cache(again.id, "total").cache_hit
            changed = run_pipeline(pipe, {"n": 4})
            assert changed.steps["make"].status == "FINISHED"
            assert loopml.get_run(changed.steps["make"].run_id).params == {"n": "4"}
        finally:
            from loopml.tracking import context

            if context._context is not None:
                context._context.close()
                context._context = None
