"""The DAG a pipeline body builds: nodes (one per step call) wired by handles, not data.

Calling a step while a pipeline is being built records a :class:`Node` and returns
:class:`Handle` objects that stand for its future outputs; passing a handle to another step is
an edge. The graph is plain data (names, argument specs, upstream names) so that executors,
the Airflow export and the CLI can read it without running anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidParameterError, InvalidStateError

if TYPE_CHECKING:
    from loopml.pipeline.steps import Step

__all__ = ["Graph", "Handle", "Node", "building", "current_builder"]


@dataclass(frozen=True)
class Handle:
    """Output ``index`` of node ``node``: what a step call returns inside a pipeline body."""

    node: str
    index: int = 0
    _graph: Graph | None = field(default=None, compare=False, repr=False)

    def after(self, *others: Handle | tuple[Handle, ...]) -> Handle:
        """Run this handle's step after ``others`` even though it takes none of their data."""
        if self._graph is None:
            raise InvalidStateError("after() only works inside a @pipeline body")
        self._graph.add_order(self.node, [h.node for h in _flatten(others)])
        return self

    def __bool__(self) -> bool:
        raise InvalidStateError(
            f"the output of step {self.node!r} is not known while the pipeline is being built: "
            "a pipeline body wires steps together and cannot branch on their results; move "
            "the condition into a step"
        )

    def __iter__(self) -> Iterator[Handle]:
        raise InvalidStateError(
            f"step {self.node!r} has one output; annotate its return as tuple[A, B] to "
            "unpack several outputs"
        )


def _flatten(items: tuple[Any, ...]) -> list[Handle]:
    out: list[Handle] = []
    for item in items:
        if isinstance(item, Handle):
            out.append(item)
        elif isinstance(item, tuple):
            out.extend(_flatten(item))
        else:
            raise InvalidParameterError(f"after() takes step outputs, got {item!r}")
    return out


@dataclass(frozen=True)
class InputRef:
    """An argument fed by an upstream output."""

    node: str
    index: int


@dataclass
class Node:
    """One step call: ``inputs`` maps argument name to an :class:`InputRef` or a literal."""

    name: str
    step: Step
    inputs: dict[str, Any]
    order_after: list[str] = field(default_factory=list)
    kind: str = "step"  # "step" or "register"

    @property
    def upstream(self) -> list[str]:
        """Nodes this one waits for: data producers first, then ordering-only ones."""
        seen: dict[str, None] = {}
        for value in self.inputs.values():
            if isinstance(value, InputRef):
                seen[value.node] = None
        for name in self.order_after:
            seen[name] = None
        return list(seen)

    @property
    def literals(self) -> dict[str, Any]:
        return {k: v for k, v in self.inputs.items() if not isinstance(v, InputRef)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step": self.step.name,
            "kind": self.kind,
            "upstream": self.upstream,
            "inputs": {
                k: {"node": v.node, "index": v.index}
                if isinstance(v, InputRef)
                else {"value": repr(v)}
                for k, v in self.inputs.items()
            },
            "outputs": self.step.n_outputs,
            "resources": {
                "cpus": self.step.resources.cpus,
                "memory_mb": self.step.resources.memory_mb,
                "gpus": self.step.resources.gpus,
            },
            "retries": self.step.retries,
            "timeout": self.step.timeout,
            "cache": self.step.cache,
        }


class Graph:
    """Nodes in the order they were added (which is always a valid order for data edges)."""

    def __init__(self, pipeline: str = "pipeline") -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, Node] = {}

    def __repr__(self) -> str:
        return f"Graph({self.pipeline!r}, nodes={list(self.nodes)})"

    def add(self, step: Step, inputs: dict[str, Any], kind: str = "step") -> Node:
        name = step.name
        n = 2
        while name in self.nodes:
            name = f"{step.name}_{n}"
            n += 1
        for arg, value in inputs.items():
            if isinstance(value, InputRef) and value.node not in self.nodes:
                raise InvalidParameterError(
                    f"argument {arg!r} of step {step.name!r} comes from a step of another "
                    "pipeline build",
                    step=step.name,
                )
        node = Node(name, step, inputs, kind=kind)
        self.nodes[name] = node
        return node

    def add_order(self, node: str, after: list[str]) -> None:
        target = self.nodes[node]
        for other in after:
            if other not in self.nodes:
                raise InvalidParameterError(f"after(): {other!r} is not a step of this pipeline")
            if other not in target.order_after:
                target.order_after.append(other)

    def handles(self, node: Node) -> Handle | tuple[Handle, ...]:
        if node.step.n_outputs == 1:
            return Handle(node.name, 0, self)
        return tuple(Handle(node.name, i, self) for i in range(node.step.n_outputs))

    def topological(self) -> list[str]:
        """Node names in an order where every node follows its upstream; a cycle is an error."""
        state: dict[str, int] = {}  # 1 = visiting, 2 = done
        order: list[str] = []
        for start in self.nodes:
            if state.get(start) == 2:
                continue
            stack: list[tuple[str, Iterator[str]]] = [(start, iter(self.nodes[start].upstream))]
            state[start] = 1
            path = [start]
            while stack:
                name, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    path.pop()
                    state[name] = 2
                    order.append(name)
                    continue
                if nxt not in self.nodes:
                    raise InvalidParameterError(
                        f"step {name!r} depends on {nxt!r}, which is not in the pipeline",
                        step=name,
                    )
                seen = state.get(nxt)
                if seen == 1:
                    cycle = [*path[path.index(nxt) :], nxt]
                    raise InvalidParameterError(
                        f"the pipeline {self.pipeline!r} has a cycle: {' -> '.join(cycle)}; "
                        "a step cannot (indirectly) wait for itself",
                        cycle=cycle,
                    )
                if seen is None:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, iter(self.nodes[nxt].upstream)))
        return order

    def downstream(self, names: set[str]) -> set[str]:
        """``names`` and every node that (transitively) depends on one of them."""
        out = set(names)
        for name in self.topological():
            if any(up in out for up in self.nodes[name].upstream):
                out.add(name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "nodes": [self.nodes[n].to_dict() for n in self.topological()],
        }


_local = threading.local()


def current_builder() -> Graph | None:
    return getattr(_local, "graph", None)


@contextmanager
def building(graph: Graph) -> Iterator[Graph]:
    """Step calls inside this block add nodes to ``graph`` instead of running."""
    previous = current_builder()
    _local.graph = graph
    try:
        yield graph
    finally:
        _local.graph = previous
