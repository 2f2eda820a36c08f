"""Finding the model package a pipeline run produced, so the best trial can be registered."""

from __future__ import annotations

from loopml.errors import NotFoundError

__all__ = ["model_uri_of_run"]


def model_uri_of_run(pipeline_run_id: str) -> str:
    """``runs:/<step run>/outputs/<i>/model`` of the run's model output.

    The model a ``register_if`` node received wins; otherwise the last step (in graph order)
    whose output was stored as a model package.
    """
    from loopml.pipeline.runs import get_pipeline_run

    run = get_pipeline_run(pipeline_run_id)
    fed_to_register = {
        up
        for node in run.graph.get("nodes", [])
        if node.get("kind") == "register"
        for up in [node.get("inputs", {}).get("model", {}).get("node")]
        if up
    }
    found: list[tuple[bool, int, str]] = []
    for position, step in enumerate(run.steps.values()):
        if step.run_id is None or step.status not in ("FINISHED", "CACHED"):
            continue
        for index, output in enumerate(step.outputs):
            if output.get("materializer") == "model":
                uri = f"runs:/{step.run_id}/outputs/{index}/model"
                found.append((step.name in fed_to_register, position, uri))
    if not found:
        raise NotFoundError(
            f"pipeline run {pipeline_run_id} produced no model package: no step returned a "
            "trained model (scikit-learn, XGBoost, LightGBM, PyTorch, ...)",
            run_id=pipeline_run_id,
        )
    return max(found)[2]
