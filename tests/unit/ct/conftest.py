"""A project with a champion (a weak model, version 1) served by deployment ``churn-prod``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml.ct.policy import Policy, parse_policy
from loopml.serving.deployments import create_deployment
from tests.unit.ct.support import log_and_register, make_table

BASE: dict[str, Any] = {
    "pipeline": "pipelines/training.py:training",
    "deployment": "churn-prod",
    "triggers": [{"manual": True}],
    "gates": {"min_improvement": 0.01, "max_slice_regression": 0.05, "slice_column": "plan"},
    "rollout": {"canary_weight": 10, "min_requests": 100, "max_error_rate": 0.02},
    "label": "label",
    "params": {"kind": "good"},
}


def make_policy(**changes: Any) -> Policy:
    raw = {**BASE, **changes}
    return parse_policy("churn", raw)


@pytest.fixture
def champion(project: Path) -> str:
    uri = log_and_register("ok", make_table().iloc[:800])
    loopml.set_alias("churn", "champion", 1)
    create_deployment("churn-prod", "models:/churn@champion")
    return uri
