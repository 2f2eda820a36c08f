"""Lineage reaches from a version back to its run, code and data; cards render from it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import loopml
from loopml import registry
from loopml.errors import InvalidParameterError
from loopml.registry.card import build_card, render_card, write_card
from loopml.registry.card.chart import bar_chart
from loopml.registry.lineage import lineage

MakePackage = Callable[..., str]
CODE_TAGS = {
    "loopml.git.commit": "0123456789abcdef",
    "loopml.git.dirty": "true",
    "loopml.git.diff_hash": "d1ff",
    "loopml.source.file": "train.py",
    "loopml.input.training": "data:/customers/3",
}


def test_lineage_reaches_run_code_data_and_pipeline(make_package: MakePackage) -> None:
    with loopml.start_run(run_name="pipeline") as parent:
        loopml.set_tag("loopml.pipeline.name", "churn-train")
        uri = make_package(tags={**CODE_TAGS, "loopml.pipeline.run_id": parent.run_id}, nested=True)
    registry.register_model(uri, "churn")
    registry.set_alias("churn", "champion", 1)
    body = lineage("models:/churn@champion")
    assert body["model"]["uri"] == "models:/churn/1" and body["model"]["aliases"] == ["champion"]
    assert body["run"]["run_id"] == uri.split("/")[1]
    assert body["run"]["experiment_name"] == "Default"
    assert body["code"] == {
        "commit": "0123456789abcdef",
        "dirty": True,
        "diff_hash": "d1ff",
        "source_file": "train.py",
    }
    assert body["params"]["depth"] == "4" and body["metrics"] == {"auc": 0.9}
    assert body["datasets"] == [{"uri": "data:/customers/3", "digest": None, "context": "training"}]
    assert body["pipeline"]["run_id"] == parent.run_id
    assert body["pipeline"]["pipeline"] == "churn-train"


def test_lineage_survives_a_purged_run(make_package: MakePackage) -> None:
    uri = make_package()
    registry.register_model(uri, "churn")
    store = loopml.TrackingClient().ctx.metadata
    store.delete_run(uri.split("/")[1])
    store.purge_deleted(older_than_ms=2**62)
    body = lineage("models:/churn/1")
    assert body["run"] == {"run_id": uri.split("/")[1], "missing": True}
    assert body["metrics"] == {"auc": 0.9}


@pytest.fixture
def trained(make_package: MakePackage) -> tuple[object, object]:
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LogisticRegression

    rng = __import__("numpy").random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300)})
    frame["region"] = ["north", "south", "east"] * 100
    frame["label"] = (frame["x1"] > 0).astype(int)
    model = LogisticRegression().fit(frame[["x1", "x2"]], frame["label"])

    class Features:  # the model ignores the slice column, as a real pipeline would
        def predict(self, df: object) -> object:
            return model.predict(df[["x1", "x2"]])  # type: ignore[index]

    registry.register_model(make_package(tags=CODE_TAGS), "churn", description="<b>rf</b>")
    registry.set_approval_policy("churn", "champion")
    registry.promote("churn", 1, "champion", reason="beats baseline")
    registry.approve_promotion("churn", 1, "champion", reason="checked slices")
    return Features(), frame


def test_card_has_importance_slices_and_history(trained: tuple[object, object]) -> None:
    model, frame = trained
    card = build_card(
        "models:/churn@champion", data=frame, target="label", slice_column="region", model=model
    )
    ev = card["evaluation"]
    assert ev.task == "classification" and ev.metrics["accuracy"] > 0.9
    assert ev.importance[0]["feature"] == "x1" and ev.importance[0]["mean"] > 0.2
    assert {row["feature"] for row in ev.importance} == {"x1", "x2"}  # the signature's inputs
    assert [s["value"] for s in ev.slices] == ["east", "north", "south"]
    assert sum(s["rows"] for s in ev.slices) == 300
    html = render_card(card, "html")
    assert "<svg" in html and "Permutation" in html and "checked slices" in html
    assert "&lt;b&gt;rf&lt;/b&gt;" in html  # user text is escaped
    assert "0123456789abcdef" in html and "data:/customers/3" in html
    md = render_card(card, "md")
    assert "| x1 |" in md and "### Metrics by region" in md and "APPROVED" in md


def test_card_files_and_bad_input(trained: tuple[object, object], tmp_path: Path) -> None:
    model, frame = trained
    path = write_card("models:/churn/1", tmp_path / "card.md")
    assert path.read_text().startswith("# Model card: churn version 1")
    with pytest.raises(InvalidParameterError, match=r"\.html or \.md"):
        write_card("models:/churn/1", tmp_path / "card.pdf")
    with pytest.raises(InvalidParameterError, match="--target"):
        build_card("models:/churn/1", data=frame, model=model)
    with pytest.raises(InvalidParameterError, match="not a column"):
        build_card("models:/churn/1", data=frame, target="nope", model=model)
    with pytest.raises(InvalidParameterError, match="lacks the model's input column"):
        build_card("models:/churn/1", data=frame.drop(columns=["x2"]), target="label", model=model)
    with pytest.raises(InvalidParameterError, match="need evaluation data"):
        build_card("models:/churn/1", slice_column="region")


def test_bar_chart_escapes_labels() -> None:
    svg = bar_chart([("<x>", 0.5), ("y", -0.1)], title="t")
    assert "&lt;x&gt;" in svg and svg.startswith("<svg") and bar_chart([]) == ""
