"""``register_if``: register a model version when its metrics pass a gate.

The gate is a small expression over ``metrics`` (``"metrics['auc'] >= 0.8 and
metrics['f1'] > 0.6"``), parsed with :mod:`ast` and evaluated by walking the tree: only
comparisons, ``and``/``or``/``not``, numbers, strings and ``metrics[...]`` lookups are allowed,
so a gate can never run code. Inside a ``@pipeline`` body ``register_if`` adds a node; outside
it acts on real values.
"""

from __future__ import annotations

import ast
import numbers
import operator
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidParameterError
from loopml.pipeline.graph import Handle, InputRef, current_builder
from loopml.pipeline.steps import Step

if TYPE_CHECKING:
    from loopml.pipeline.keys import NodeKey
    from loopml.pipeline.runner import _Runner

__all__ = ["check_gate", "evaluate_gate", "register_if"]

_COMPARE: dict[type[ast.cmpop], Any] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _bad(gate: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"gate {gate!r} is not allowed: {why}. A gate compares metrics, e.g. "
        "\"metrics['auc'] >= 0.8 and metrics['f1'] > 0.5\"",
        gate=gate,
    )


def check_gate(gate: str) -> ast.Expression:
    """Parse ``gate`` and reject anything but the allowed node types."""
    if not isinstance(gate, str) or not gate.strip():
        raise InvalidParameterError(f"a gate is a non-empty expression string, got {gate!r}")
    try:
        tree = ast.parse(gate.strip(), mode="eval")
    except SyntaxError as exc:
        raise _bad(gate, f"it is not a valid expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if isinstance(
            node,
            ast.Expression
            | ast.Compare
            | ast.BoolOp
            | ast.And
            | ast.Or
            | ast.Not
            | ast.USub
            | ast.UAdd
            | ast.Load
            | ast.Constant
            | ast.Subscript
            | ast.Tuple
            | ast.cmpop,
        ):
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            continue
        if isinstance(node, ast.Name) and node.id == "metrics":
            continue
        what = f"the name {node.id!r}" if isinstance(node, ast.Name) else type(node).__name__
        raise _bad(gate, f"{what} cannot appear in a gate")
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and not (
            isinstance(node.value, ast.Name) and node.value.id == "metrics"
        ):
            raise _bad(gate, "only metrics[...] may be subscripted")
    return tree


def evaluate_gate(gate: str, metrics: Mapping[str, Any]) -> bool:
    tree = check_gate(gate)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return metrics
        if isinstance(node, ast.Tuple):
            return tuple(ev(e) for e in node.elts)
        if isinstance(node, ast.Subscript):
            key = ev(node.slice)
            if key not in metrics:
                raise InvalidParameterError(
                    f"gate {gate!r} reads metrics[{key!r}], but the metrics have only "
                    f"{', '.join(map(repr, metrics)) or 'no keys'}",
                    gate=gate,
                )
            return metrics[key]
        if isinstance(node, ast.UnaryOp):
            value = ev(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(ev(v) for v in node.values)
            return any(ev(v) for v in node.values)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = ev(right_node)
                try:
                    ok = _COMPARE[type(op)](left, right)
                except TypeError as exc:
                    raise InvalidParameterError(f"gate {gate!r} cannot compare: {exc}") from None
                if not ok:
                    return False
                left = right
            return True
        raise _bad(gate, f"{type(node).__name__} cannot appear in a gate")  # pragma: no cover

    return bool(ev(tree))


def _register_step(
    model: Any, metrics: Any, name: str, gate: str, input_example: Any = None
) -> str | None:
    """The graph's stand-in for a register node (the runner executes it itself)."""
    uri: str | None = register_if(
        model, name=name, metrics=metrics, gate=gate, input_example=input_example
    )
    return uri


REGISTER_STEP = Step(_register_step, name="register")


def register_if(
    model: Any,
    *,
    name: str,
    metrics: Any,
    gate: str = "metrics['auc'] >= 0.8",
    input_example: Any = None,
) -> Any:
    """Register ``model`` as the next version of ``name`` if ``metrics`` pass ``gate``.

    Returns the new ``models:/name/N`` URI, or None when the gate holds it back. In a
    pipeline body it returns a handle and the pipeline run lists the URI in ``registered``.
    ``input_example`` (e.g. the holdout frame; its first rows, trimmed to the columns the model
    was fitted on) gives the package a signature and an example, which serving smoke-tests
    and monitoring checks live inputs against.
    """
    check_gate(gate)
    from loopml.store.metadata.registry_entities import check_model_name

    check_model_name(name)
    graph = current_builder()
    if graph is not None:
        if not isinstance(model, Handle):
            raise InvalidParameterError(
                "inside a pipeline, register_if takes the output of the step that trains the model"
            )
        inputs: dict[str, Any] = {"model": InputRef(model.node, model.index)}
        if isinstance(metrics, Handle):
            inputs["metrics"] = InputRef(metrics.node, metrics.index)
        elif isinstance(metrics, dict):
            inputs["metrics"] = dict(metrics)
        else:
            raise InvalidParameterError(
                "register_if's metrics are a step's output (a dict) or a dict of numbers"
            )
        if isinstance(input_example, Handle):
            inputs["input_example"] = InputRef(input_example.node, input_example.index)
        elif input_example is not None:
            raise InvalidParameterError(
                "inside a pipeline, register_if's input_example is a step's output (e.g. the "
                "holdout frame)"
            )
        inputs["name"] = name
        inputs["gate"] = gate
        node = graph.add(REGISTER_STEP, inputs, kind="register")
        return Handle(node.name, 0, graph)
    if not isinstance(metrics, Mapping):
        raise InvalidParameterError(f"metrics must be a dict, got {type(metrics).__name__}")
    if not evaluate_gate(gate, metrics):
        return None
    return _register_value(model, name, dict(metrics), example_rows(model, input_example))


def example_rows(model: Any, example: Any, rows: int = 5) -> Any:
    """The first rows of ``example``, keeping only the columns ``model`` was fitted on (a
    holdout frame usually still holds the label and slice columns)."""
    if example is None:
        return None
    features = getattr(model, "feature_names_in_", None)
    columns = getattr(example, "columns", None)
    if features is not None and columns is not None:
        wanted = [str(c) for c in features]
        missing = [c for c in wanted if c not in set(map(str, columns))]
        if missing:
            raise InvalidParameterError(
                f"input_example lacks the columns the model was fitted on: {missing}"
            )
        example = example[wanted]
    head = getattr(example, "head", None)
    if callable(head):
        return head(rows)
    if isinstance(example, list | tuple):
        return example[:rows]
    return example


def _register_value(model: Any, name: str, metrics: dict[str, Any], example: Any = None) -> str:
    from loopml.models.log import log_model
    from loopml.registry.api import register_model
    from loopml.tracking import fluent

    numeric = _numeric(metrics)
    active = fluent.active_run()
    if active is not None:
        info = log_model(model, "model", input_example=example)
        if numeric:
            fluent.log_metrics(numeric)
        return register_model(info.uri, name).uri
    with fluent.start_run(run_name=f"register-{name}"):
        info = log_model(model, "model", input_example=example)
        if numeric:
            fluent.log_metrics(numeric)
        fluent.flush()
        return register_model(info.uri, name).uri


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(key, str) and not isinstance(value, bool) and isinstance(value, numbers.Real):
            out[key] = float(value)
    return out


def run_register_node(
    runner: _Runner, name: str, nk: NodeKey
) -> tuple[list[dict[str, Any]], str | None, str]:
    """Execute a register node in the orchestrator: gate, package, register, link data.

    The node's tracking run holds the model package as its ``model`` artifact (a reference to
    the object already stored, nothing is copied), the metrics, the pipeline's params and the
    dataset versions upstream, so the registry's snapshot and lineage view see all of them.
    """
    from loopml.data.provenance import log_input
    from loopml.pipeline.lineage import upstream_datasets
    from loopml.pipeline.materializers import JsonMaterializer, ModelMaterializer
    from loopml.pipeline.worker import load_output
    from loopml.registry.api import register_model
    from loopml.store.metadata.entities import RunStatus

    ctx = runner.ctx
    model_rec = nk.inputs["model"]
    metrics: Any = nk.literals.get("metrics")
    if "metrics" in nk.inputs:
        metrics = load_output(nk.inputs["metrics"], ctx)
    if not isinstance(metrics, Mapping):
        raise InvalidParameterError(
            f"register_if needs metrics as a dict; the step feeding it returned "
            f"{type(metrics).__name__}"
        )
    gate, model_name = str(nk.literals["gate"]), str(nk.literals["name"])
    run_id = runner.tracker.create_step_run(name, {"name": model_name, "gate": gate})
    store = ctx.metadata
    uri: str | None = None
    status = RunStatus.FAILED
    try:
        if evaluate_gate(gate, metrics):
            example = None
            if "input_example" in nk.inputs:
                value = load_output(model_rec, ctx)
                example = example_rows(value, load_output(nk.inputs["input_example"], ctx))
                package_hash = ModelMaterializer().save(value, ctx.objects, example)[0]
            elif model_rec["materializer"] == "model":
                package_hash = str(model_rec["hash"])
            else:
                value = load_output(model_rec, ctx)
                package_hash = ModelMaterializer().save(value, ctx.objects)[0]
            store.log_params(run_id, {k: str(v)[:6000] for k, v in runner.params.items()})
            numeric = _numeric(metrics)
            now = time.time_ns() // 1_000_000
            store.log_metrics([(run_id, k, v, 0, now) for k, v in numeric.items()])
            size = ctx.objects.size(package_hash)
            store.record_artifact(run_id, "model", package_hash, size, "dir")
            for dataset in upstream_datasets(runner, name):
                log_input(dataset, "training", run_id=run_id)
            version = register_model(
                f"runs:/{run_id}/model",
                model_name,
                tags={
                    "loopml.pipeline.run_id": runner.record.run_id,
                    "loopml.pipeline.name": runner.pipe.name,
                },
            )
            uri = version.uri
        status = RunStatus.FINISHED
    finally:
        store.update_run(run_id, status=status, end_ms=time.time_ns() // 1_000_000)
    digest, kind, meta = JsonMaterializer().save(uri, ctx.objects)
    record: dict[str, Any] = {
        "hash": digest,
        "kind": kind,
        "materializer": "json",
        "type": "builtins.str" if uri else "builtins.NoneType",
        "size": ctx.objects.size(digest),
        "meta": meta,
    }
    return [record], uri, run_id
