"""Building the DAG: handles, tuple outputs, parameters, cycles, and the graph as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.errors import InvalidParameterError, InvalidStateError
from loopml.pipeline import pipeline, step
from loopml.pipeline.params import parse_cli_params

from .conftest import WritePipeline


@step
def make(n: int) -> list[int]:
    return list(range(n))


@step
def halves(xs: list[int]) -> tuple[list[int], list[int]]:
    return xs[::2], xs[1::2]


@step
def add(a: list[int], b: list[int], scale: float = 1.0) -> float:
    return (sum(a) + sum(b)) * scale


@pipeline
def flow(n: int, scale: float = 1.0) -> None:
    a, b = halves(make(n))
    add(a, b, scale=scale)


def test_steps_are_plain_functions_outside_a_pipeline() -> None:
    assert make(3) == [0, 1, 2]
    assert halves([1, 2, 3]) == ([1, 3], [2])


def test_build_wires_handles_and_counts_tuple_outputs() -> None:
    graph = flow.build({"n": 4})
    assert list(graph.nodes) == ["make", "halves", "add"]
    assert graph.nodes["halves"].step.n_outputs == 2
    assert graph.nodes["add"].upstream == ["halves"]
    assert graph.nodes["add"].literals == {"scale": 1.0}
    body = graph.to_dict()
    assert [n["name"] for n in body["nodes"]] == ["make", "halves", "add"]
    assert body["nodes"][2]["inputs"]["a"] == {"node": "halves", "index": 0}


def test_params_validated_against_the_signature(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"needs parameter\(s\) n"):
        flow.build({})
    with pytest.raises(InvalidParameterError, match="has no parameter 'bogus'"):
        flow.build({"n": 1, "bogus": 2})
    with pytest.raises(InvalidParameterError, match="must be int"):
        flow.build({"n": "many"})
    assert flow.resolve_params(parse_cli_params(["n=3", "scale=2"])) == {"n": 3, "scale": 2.0}
    config = tmp_path / "c.yaml"
    config.write_text("params:\n  n: 5\n  scale: 0.5\n")
    assert flow.resolve_params({"n": 7}, config) == {"n": 7, "scale": 0.5}
    assert {p.name: p.required for p in flow.params.values()} == {"n": True, "scale": False}


def test_unannotated_params_take_the_type_of_their_default() -> None:
    @pipeline
    def loose(n=3, name="x", flag=False):  # type: ignore[no-untyped-def]
        make(n)

    assert loose.resolve_params(parse_cli_params(["n=5", "flag=true", "name=7"])) == {
        "n": 5,
        "name": "7",
        "flag": True,
    }
    with pytest.raises(InvalidParameterError, match="'n' of pipeline 'loose' must be int"):
        loose.resolve_params({"n": "five"})


def test_bad_cli_param_and_config() -> None:
    with pytest.raises(InvalidParameterError, match="KEY=VALUE"):
        parse_cli_params(["n"])
    with pytest.raises(Exception, match="does not exist"):
        flow.resolve_params({}, "/nonexistent/c.yaml")


def test_cycle_is_detected_before_anything_runs() -> None:
    @pipeline
    def loop() -> None:
        first = make(2)
        second = add(first, first)
        first.after(second)

    with pytest.raises(InvalidParameterError, match="cycle: make -> add -> make"):
        loop.build()


def test_after_orders_without_data() -> None:
    @pipeline
    def ordered() -> None:
        a = make(1)
        b = make(2)
        b.after(a)

    graph = ordered.build()
    assert graph.nodes["make_2"].upstream == ["make"]


def test_handles_cannot_be_used_as_data_while_building() -> None:
    @pipeline
    def branching() -> None:
        if make(1):
            make(2)

    with pytest.raises(InvalidStateError, match="cannot branch on their results"):
        branching.build()

    @pipeline
    def nested() -> None:
        add([make(1)], make(2))

    with pytest.raises(InvalidParameterError, match="inside a container"):
        nested.build()


def test_wrong_arguments_to_a_step_name_it() -> None:
    @pipeline
    def bad() -> None:
        make(1, 2)

    with pytest.raises(InvalidParameterError, match="step 'make'"):
        bad.build()


def test_load_pipeline_by_reference(write_pipeline: WritePipeline, project: Path) -> None:
    pipe = write_pipeline(
        """
        @step
        def one() -> int:
            return 1

        @pipeline(name="renamed")
        def p():
            one()
        """
    )
    assert pipe.name == "renamed"
    assert pipe.ref is not None and pipe.ref.endswith("pipe.py:p")
    from loopml.errors import NotFoundError
    from loopml.pipeline import load_pipeline

    with pytest.raises(NotFoundError, match="no pipeline named 'nope'"):
        load_pipeline(f"{project / 'pipe.py'}:nope")
    with pytest.raises(NotFoundError, match="does not exist"):
        load_pipeline("missing/file.py:p")
    assert load_pipeline(str(project / "pipe.py")).name == "renamed"
