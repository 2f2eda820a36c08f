"""Continuous training: triggers, gates, promotion and canary rollout, driven by policies.

``Controller(policies).run_once()`` is one pass of the controller (``loopml ct once``);
``loopml ct run`` repeats it. Every decision is in ``Controller.history(policy)`` and the audit
log. Names load on first use so ``import loopml.ct`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopml.ct.controller import Controller, ct_store
    from loopml.ct.loop import run_forever
    from loopml.ct.policy import Gates, Policy, Rollout, Trigger, load_policies, parse_policy
    from loopml.ct.training import PipelineTrainer, Trainer, TrainResult
    from loopml.store.metadata.ct_base import CtDecision as Decision
    from loopml.store.metadata.ct_base import CtEvent as Event
    from loopml.store.metadata.ct_base import CtRun as Run

_LAZY: dict[str, tuple[str, str]] = {
    "Controller": ("loopml.ct.controller", "Controller"),
    "ct_store": ("loopml.ct.controller", "ct_store"),
    "run_forever": ("loopml.ct.loop", "run_forever"),
    "Gates": ("loopml.ct.policy", "Gates"),
    "Policy": ("loopml.ct.policy", "Policy"),
    "Rollout": ("loopml.ct.policy", "Rollout"),
    "Trigger": ("loopml.ct.policy", "Trigger"),
    "load_policies": ("loopml.ct.policy", "load_policies"),
    "parse_policy": ("loopml.ct.policy", "parse_policy"),
    "PipelineTrainer": ("loopml.ct.training", "PipelineTrainer"),
    "TrainResult": ("loopml.ct.training", "TrainResult"),
    "Trainer": ("loopml.ct.training", "Trainer"),
    "Decision": ("loopml.store.metadata.ct_base", "CtDecision"),
    "Event": ("loopml.store.metadata.ct_base", "CtEvent"),
    "Run": ("loopml.store.metadata.ct_base", "CtRun"),
}

__all__ = [
    "Controller",
    "Decision",
    "Event",
    "Gates",
    "PipelineTrainer",
    "Policy",
    "Rollout",
    "Run",
    "TrainResult",
    "Trainer",
    "Trigger",
    "ct_store",
    "load_policies",
    "parse_policy",
    "run_forever",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'loopml.ct' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
