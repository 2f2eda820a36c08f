"""register_if with a gate, the registry's provenance, and lineage from a model version back
to the dataset version it was trained on."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml
import loopml.data
from loopml.errors import InvalidParameterError
from loopml.pipeline import register_if, run_pipeline
from loopml.pipeline.lineage import lineage
from loopml.pipeline.register import check_gate, evaluate_gate

from .conftest import WritePipeline, statuses

SOURCE = """
import loopml
import pandas as pd
from sklearn.linear_model import LogisticRegression

@step
def ingest(dataset: str) -> pd.DataFrame:
    import loopml.data
    return loopml.data.read_table(dataset)

@step
def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return df.iloc[::2], df.iloc[1::2]

@step
def train(df: pd.DataFrame, c: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=c).fit(df[["x"]], df["y"])

@step
def evaluate(model: LogisticRegression, df: pd.DataFrame) -> dict:
    return {"accuracy": float(model.score(df[["x"]], df["y"]))}

@pipeline
def p(dataset: str = "data:/points@latest", c: float = 1.0, bar: float = 0.8):
    tr, te = split(ingest(dataset))
    model = train(tr, c=c)
    metrics = evaluate(model, te)
    loopml.register_if(model, name="clf", metrics=metrics, gate=f"metrics['accuracy'] >= {bar}")
"""


@pytest.fixture
def points(project: Path) -> str:
    rows = "\n".join(f"{i},{int(i >= 10)}" for i in range(20))
    (project / "points.csv").write_text("x,y\n" + rows + "\n")
    return loopml.data.add(project / "points.csv", "points", progress=False).uri


@pytest.mark.slow
def test_gate_passes_registers_and_links_lineage(
    write_pipeline: WritePipeline, points: str
) -> None:
    pipe = write_pipeline(SOURCE)
    run = run_pipeline(pipe)
    assert run.status == "FINISHED", run.error
    assert run.registered == ["models:/clf/1"]
    assert run.output("register") == "models:/clf/1"
    assert run.steps["train"].outputs[0]["materializer"] == "model"
    version = loopml.get_model_version("models:/clf/1")
    assert version.metrics["accuracy"] >= 0.8
    assert version.params["c"] == "1.0"
    assert [d.uri for d in version.datasets] == [points]
    model = loopml.load_model("models:/clf/1")
    import pandas as pd

    assert model.predict(pd.DataFrame({"x": [15.0]})).tolist() == [1]

    graph = lineage("models:/clf/1")
    kinds = {n["kind"] for n in graph.nodes}
    assert kinds == {"model", "step", "artifact", "dataset"}
    steps = {n["name"] for n in graph.of_kind("step")}
    assert steps == {"ingest", "split", "train", "evaluate", "register"}
    assert [n["id"] for n in graph.of_kind("dataset")] == [points]
    edges = {(e["src"], e["dst"]) for e in graph.edges}
    ingest_node = f"step:{run.id}/ingest"
    assert (points, ingest_node) in edges
    assert (f"step:{run.id}/register", "models:/clf/1") in edges
    assert graph.to_dict()["pipeline_run_id"] == run.id

    # the registry's own lineage view finds the pipeline run
    from loopml.registry.lineage import lineage as registry_lineage

    body = registry_lineage("models:/clf/1")
    assert body["pipeline"]["run_id"] == run.id
    assert body["pipeline"]["pipeline"] == "p"

    # an identical re-run hits every cache and registers nothing new
    again = run_pipeline(pipe)
    assert set(statuses(again).values()) == {"CACHED"}
    assert again.registered == ["models:/clf/1"]
    assert [v.version for v in loopml.registry.list_model_versions("clf")] == [1]


def test_gate_holds_back_a_weak_model(write_pipeline: WritePipeline, points: str) -> None:
    run = run_pipeline(write_pipeline(SOURCE), {"bar": 1.01})
    assert run.status == "FINISHED", run.error
    assert run.registered == []
    assert run.output("register") is None
    from loopml.errors import NotFoundError

    with pytest.raises(NotFoundError):
        loopml.get_registered_model("clf")


def test_gate_is_a_safe_expression() -> None:
    assert evaluate_gate(
        "metrics['auc'] >= 0.8 and not metrics['f1'] < 0.5", {"auc": 0.9, "f1": 0.6}
    )
    assert not evaluate_gate("0.5 < metrics['auc'] < 0.8 or metrics['auc'] == -1", {"auc": 0.9})
    for bad in (
        "__import__('os').system('true')",
        "metrics.auc > 1",
        "open('x')",
        "[x for x in metrics]",
        "metrics['a'] + 1 > 2",
        "lambda: 1",
        "",
    ):
        with pytest.raises(InvalidParameterError):
            check_gate(bad)
    with pytest.raises(
        InvalidParameterError, match=r"reads metrics\['auc'\], but the metrics have only 'f1'"
    ):
        evaluate_gate("metrics['auc'] > 0", {"f1": 1.0})


def test_bad_gate_fails_at_build_time(write_pipeline: WritePipeline, points: str) -> None:
    pipe = write_pipeline(SOURCE.replace("metrics['accuracy'] >= {bar}", "exec('1')"))
    with pytest.raises(InvalidParameterError, match="cannot appear in a gate"):
        pipe.build()


def test_register_if_outside_a_pipeline_acts_on_values(project: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    assert (
        register_if(model, name="direct", metrics={"auc": 0.7}, gate="metrics['auc'] > 0.8") is None
    )
    uri = register_if(model, name="direct", metrics={"auc": 0.9}, gate="metrics['auc'] > 0.8")
    assert uri == "models:/direct/1"
    assert loopml.get_model_version(uri).metrics == {"auc": 0.9}
    graph = lineage(uri)  # not made by a pipeline: the model alone
    assert [n["kind"] for n in graph.nodes] == ["model"] and graph.edges == []
    assert graph.pipeline_run_id is None


@pytest.mark.slow
def test_input_example_gives_the_package_a_signature_without_the_label(
    write_pipeline: WritePipeline, points: str
) -> None:
    source = SOURCE.replace(
        "gate=f\"metrics['accuracy'] >= {bar}\")",
        "gate=f\"metrics['accuracy'] >= {bar}\", input_example=te)",
    )
    assert "input_example=te" in source
    run = run_pipeline(write_pipeline(source))
    assert run.status == "FINISHED", run.error
    model = loopml.load_model(run.registered[0])
    assert model.signature is not None
    assert [c.name for c in model.signature.inputs.columns] == ["x"]  # "y" (the label) trimmed
    example = model.input_example
    assert list(example.columns) == ["x"] and len(example) == 5


def test_input_example_must_be_a_step_output_inside_a_pipeline(
    write_pipeline: WritePipeline, points: str
) -> None:
    source = SOURCE.replace(
        "gate=f\"metrics['accuracy'] >= {bar}\")",
        "gate=f\"metrics['accuracy'] >= {bar}\", input_example=[[1.0]])",
    )
    with pytest.raises(InvalidParameterError, match="input_example is a step's output"):
        run_pipeline(write_pipeline(source))
