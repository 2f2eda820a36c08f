"""Outputs are stored by type, content-addressed, and load back as what the step returned."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from loopml.pipeline import Materializer, register_materializer, run_pipeline
from loopml.pipeline.materializers import _custom, choose
from loopml.pipeline.runner import PipelineWarning

from .conftest import WritePipeline


def test_builtin_materializers_round_trip(write_pipeline: WritePipeline, project: Path) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    pipe = write_pipeline(
        f"""
        from pathlib import Path
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        @step
        def frame() -> pd.DataFrame:
            return pd.DataFrame({{"a": [1, 2], "b": ["x", "y"]}})

        @step
        def table() -> pa.Table:
            return pa.table({{"c": [1.5, 2.5]}})

        @step
        def array() -> np.ndarray:
            return np.arange(6).reshape(2, 3)

        @step
        def values() -> dict:
            return {{"k": [1, 2.5, None, "s", True]}}

        @step
        def folder() -> Path:
            out = Path({str(project / "made")!r})
            (out / "sub").mkdir(parents=True, exist_ok=True)
            (out / "sub" / "f.txt").write_text("hello")
            return out

        @step
        def file() -> Path:
            out = Path({str(project / "one.txt")!r})
            out.write_text("one")
            return out

        @pipeline
        def p():
            frame(); table(); array(); values(); folder(); file()
        """
    )
    run = run_pipeline(pipe)
    assert run.status == "FINISHED", run.error
    used = {n: s.outputs[0]["materializer"] for n, s in run.steps.items()}
    assert used == {
        "frame": "pandas",
        "table": "pyarrow",
        "array": "numpy",
        "values": "json",
        "folder": "path",
        "file": "path",
    }
    pd.testing.assert_frame_equal(run.output("frame"), pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert run.output("table").equals(pa.table({"c": [1.5, 2.5]}))
    np.testing.assert_array_equal(run.output("array"), np.arange(6).reshape(2, 3))
    assert run.output("values") == {"k": [1, 2.5, None, "s", True]}
    assert (run.output("folder") / "sub" / "f.txt").read_text() == "hello"
    assert run.output("file").read_text() == "one"
    assert run.steps["folder"].outputs[0]["kind"] == "dir"
    # deterministic bytes: a re-run with the cache off stores the same objects
    again = run_pipeline(pipe, cache=False)
    for name in ("frame", "table", "array", "values"):
        assert again.steps[name].outputs[0]["hash"] == run.steps[name].outputs[0]["hash"]


def test_pickle_fallback_warns_naming_the_type(write_pipeline: WritePipeline) -> None:
    pipe = write_pipeline(
        """
        class Box:
            def __init__(self, v):
                self.v = v

        @step
        def boxed() -> Box:
            return Box(3)

        @pipeline
        def p():
            boxed()
        """
    )
    with pytest.warns(PipelineWarning, match=r"output 0 of type .*Box has no materializer"):
        run = run_pipeline(pipe)
    assert run.steps["boxed"].outputs[0]["materializer"] == "pickle"
    assert run.output("boxed").v == 3


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class CelsiusMaterializer(Materializer):
    name = "celsius"

    def matches(self, value: Any) -> bool:
        return isinstance(value, Celsius)

    def save(self, value: Any, store: Any) -> tuple[str, str, dict[str, Any]]:
        return store.put_bytes(str(value.degrees).encode()).hash, "file", {"unit": "C"}

    def load(self, store: Any, hash: str, meta: dict[str, Any]) -> Any:
        assert meta == {"unit": "C"}
        return Celsius(float(store.get_bytes(hash)))


def test_user_materializer_is_used_first(write_pipeline: WritePipeline) -> None:
    register_materializer(CelsiusMaterializer())
    try:
        pipe = write_pipeline(
            """
            from tests.unit.pipeline.test_materializers import Celsius

            @step
            def temp() -> Celsius:
                return Celsius(21.5)

            @pipeline
            def p():
                temp()
            """
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", PipelineWarning)
            run = run_pipeline(pipe)
        assert run.steps["temp"].outputs[0]["materializer"] == "celsius"
        assert run.output("temp").degrees == 21.5
    finally:
        _custom.clear()


def test_choice_by_type_needs_no_heavy_import() -> None:
    assert choose({"a": 1}).name == "json"
    assert choose((1, 2)).name == "pickle"  # a tuple does not survive JSON as a tuple
    assert choose(float("nan")).name == "pickle"
    assert choose(Path("/x")).name == "path"
    with pytest.raises(Exception, match="Materializer instance"):
        register_materializer(object())  # type: ignore[arg-type]


def test_gc_keeps_every_recorded_output(write_pipeline: WritePipeline, project: Path) -> None:
    from loopml.tracking.context import get_context

    pipe = write_pipeline(
        f"""
        from pathlib import Path

        @step
        def folder() -> Path:
            out = Path({str(project / "tree")!r})
            out.mkdir(exist_ok=True)
            (out / "a.txt").write_text("a")
            return out

        @step
        def listing(p: Path) -> list:
            return sorted(x.name for x in p.iterdir())

        @pipeline
        def p():
            listing(folder())
        """
    )
    run = run_pipeline(pipe)
    ctx = get_context()
    stray = ctx.objects.put_bytes(b"written by a step that then failed").hash
    live, manifests = ctx.metadata.referenced_objects()
    report = ctx.objects.collect_garbage(live, manifests, grace_seconds=0)
    assert report.objects_removed == 1 and not ctx.objects.exists(stray)
    assert run.output("listing") == ["a.txt"]
    again = run_pipeline(pipe)
    assert {s.status for s in again.steps.values()} == {"CACHED"}
    assert (again.output("folder") / "a.txt").read_text() == "a"
