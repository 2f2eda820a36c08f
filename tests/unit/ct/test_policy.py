"""Policies: the issue's TOML shape loads, YAML beside it too, and every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.ct.policy import Gates, Rollout, Trigger, load_policies, parse_policy
from loopml.errors import InvalidParameterError

ISSUE_TOML = """
[loopml]

[ct.churn]
pipeline = "pipelines/training.py:training"
deployment = "churn-prod"
triggers = [{cron = "0 3 * * 1"}, {new_data = "customers"}, {alert = "input_drift"}, {alert = "accuracy_drop"}]
gates = {data_validation = true, min_improvement = 0.0, max_slice_regression = 0.02, slice_column = "plan"}
promotion = "auto"            # or "approval": an approver must confirm
rollout = {canary_weight = 10, min_requests = 500, max_error_rate = 0.01, max_p99_ms = 200}
"""


def test_the_issue_policy_loads(tmp_path: Path) -> None:
    (tmp_path / "loopml.toml").write_text(ISSUE_TOML)
    policy = load_policies(tmp_path)["churn"]
    assert policy.pipeline == "pipelines/training.py:training"
    assert policy.triggers == (
        Trigger("cron", "0 3 * * 1"),
        Trigger("new_data", "customers"),
        Trigger("alert", "input_drift"),
        Trigger("alert", "accuracy_drop"),
    )
    assert policy.gates == Gates(True, 0.0, 0.02, "plan")
    assert policy.rollout == Rollout(10, 500, 0.01, 200.0)
    assert policy.promotion == "auto" and policy.metric == "auc" and not policy.catch_up
    assert policy.holdout == "split[-1]" and policy.source == str(tmp_path / "loopml.toml")


def test_yaml_next_to_the_pipeline(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "ct.yaml").write_text(
        "ct:\n  fraud:\n    pipeline: pipelines/fraud.py:training\n    promotion: approval\n"
        "    metric: rmse\n    triggers:\n      - manual: true\n      - cron: '*/5 * * * *'\n"
    )
    (tmp_path / "loopml.toml").write_text(ISSUE_TOML)
    policies = load_policies(tmp_path)
    assert set(policies) == {"churn", "fraud"}
    fraud = policies["fraud"]
    assert fraud.promotion == "approval" and not fraud.higher_is_better
    assert fraud.triggers == (Trigger("manual", ""), Trigger("cron", "*/5 * * * *"))
    (tmp_path / "ct.yml").write_text("ct:\n  fraud:\n    pipeline: a.py:b\n")
    with pytest.raises(InvalidParameterError, match=r"ct\.fraud is defined twice"):
        load_policies(tmp_path)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"pipeline": None}, "ct.churn.pipeline: is required"),
        ({"pipeline": "training.py"}, "ct.churn.pipeline: 'training.py' must be"),
        ({"promotion": "yolo"}, "ct.churn.promotion: must be 'auto' or 'approval'"),
        ({"metric": "auroc"}, "ct.churn.metric: 'auroc' is not one of"),
        ({"retries": 3}, "ct.churn.retries: unknown key"),
        ({"triggers": [{"cron": "every monday"}]}, "ct.churn.triggers\\[0\\].cron: 'every monday'"),
        ({"triggers": [{"alert": "drift"}]}, "ct.churn.triggers\\[0\\].alert: 'drift' is not"),
        ({"triggers": [{"webhook": "x"}]}, "ct.churn.triggers\\[0\\].webhook: unknown trigger"),
        ({"triggers": "cron"}, "ct.churn.triggers: must be a list"),
        ({"gates": {"min_improvment": 0.1}}, "ct.churn.gates.min_improvment: unknown key"),
        ({"gates": {"max_slice_regression": 0.02}}, "ct.churn.gates.slice_column: is required"),
        ({"gates": {"data_validation": "yes"}}, "ct.churn.gates.data_validation: must be true"),
        ({"rollout": {"canary_weight": 100}}, "ct.churn.rollout.canary_weight: must be between"),
        ({"rollout": {"canary_weight": 10.5}}, "ct.churn.rollout.canary_weight: must be a whole"),
        ({"rollout": {"min_requests": 0}}, "ct.churn.rollout.min_requests: must be at least 1"),
        ({"rollout": {"max_error_rate": 2}}, "ct.churn.rollout.max_error_rate: must be between"),
        ({"rollout": {"max_p99_ms": "fast"}}, "ct.churn.rollout.max_p99_ms: must be a number"),
        ({"deployment": None}, "ct.churn.deployment: is required by an alert trigger"),
    ],
)
def test_mistakes_name_the_key(change: dict[str, object], key: str) -> None:
    raw: dict[str, object] = {
        "pipeline": "pipelines/training.py:training",
        "deployment": "churn-prod",
        "triggers": [{"alert": "input_drift"}],
    }
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(InvalidParameterError, match=key):
        parse_policy("churn", raw)


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[ct.churn\n")
    with pytest.raises(InvalidParameterError, match="not valid TOML"):
        load_policies(path=bad)
    with pytest.raises(InvalidParameterError, match="does not exist"):
        load_policies(path=tmp_path / "missing.yaml")
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("- just\n- a list\n")
    with pytest.raises(InvalidParameterError, match="must hold a table"):
        load_policies(path=yaml_file)
