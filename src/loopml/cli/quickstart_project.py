"""The demo project's own files: the training pipeline and the continuous-training policy.

Both are ordinary project files a user edits afterwards: ``pipelines/training.py`` (a copy of
:mod:`loopml.cli.quickstart_pipeline`) and a ``[ct.churn]`` table in ``loopml.toml``. The policy
sits between two marker lines so that running the quickstart again (or with ``--short``)
replaces the demo's block and leaves everything else in the file alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FULL", "SHORT", "Profile", "write_pipeline", "write_policy"]

POLICY = "churn"
DEPLOYMENT = "churn-prod"
MODEL = "churn"
PIPELINE_REF = "pipelines/training.py:training"
_BEGIN = "# >>> loopml quickstart: continuous training (rewritten by `loopml quickstart`)"
_END = "# <<< loopml quickstart"


@dataclass(frozen=True)
class Profile:
    """How big the demo is: data, traffic and the canary's bar."""

    name: str
    rows: int  # customers per data version
    baseline_requests: int  # before the shift
    shifted_requests: int  # after the shift, before monitoring looks
    rate: float  # requests per second from the client
    window: int  # requests per monitoring window
    canary_weight: int  # percent of traffic on the canary
    min_requests: int  # canary requests before it may be promoted
    ct_timeout_s: float  # give up waiting for the loop to close
    after_requests: int  # after the promotion, to show traffic goes on
    concurrency: int = 16  # clients sending at once (the server batches their rows)


FULL = Profile("full", 4000, 500, 500, 200.0, 500, 25, 300, 150.0, 500)
SHORT = Profile("short", 2000, 300, 300, 250.0, 300, 30, 60, 90.0, 300)


def policy_text(profile: Profile) -> str:
    return f"""{_BEGIN}
# Retrain when a new version of `customers` arrives, or the inputs of churn-prod drift, or its
# accuracy on the labels that come back drops (and every Monday at 03:00). The candidate must
# not be worse than the champion on the same holdout, nor worse by more than 0.02 AUC on any
# plan; then {profile.canary_weight}% of the traffic goes to it until it has answered \
{profile.min_requests}
# requests with at most 1% errors. (The latency bar is loose: in the demo the client, the server
# and the retraining share one process.)
[ct.{POLICY}]
pipeline = "{PIPELINE_REF}"
deployment = "{DEPLOYMENT}"
params = {{dataset = "data:/customers@latest"}}
label = "churned"
triggers = [{{new_data = "customers"}}, {{alert = "input_drift"}}, {{alert = "accuracy_drop"}}, \
{{cron = "0 3 * * 1"}}]
gates = {{data_validation = true, min_improvement = 0.0, max_slice_regression = 0.02, \
slice_column = "plan"}}
promotion = "auto"
rollout = {{canary_weight = {profile.canary_weight}, min_requests = {profile.min_requests}, \
max_error_rate = 0.01, max_p99_ms = 2000}}

# Monitoring of churn-prod: a window every {profile.window} requests, each compared with the
# training data of the model version that answered it, and with its validation accuracy once
# labels arrive (POST /feedback). Windows much smaller than a few hundred rows flag noise as
# drift. The short cooldown (the default is 30m) suits a demo that runs again and again.
[monitor.{DEPLOYMENT}]
requests = {profile.window}
slice_column = "plan"
lag = 1
default_rules = false
rules = ["drift_share > 0.3 for 2 windows", "accuracy_drop > 0.05 for 2 windows", \
"error_rate > 0.01", "latency_p99_ms > 2000"]
cooldown = "5s"
{_END}
"""


def write_policy(root: Path, profile: Profile) -> Path:
    """Put the demo's ``[ct.churn]`` block into ``loopml.toml`` (replacing an earlier one)."""
    path = root / "loopml.toml"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    begin, end = text.find(_BEGIN), text.find(_END)
    if begin >= 0 and end > begin:
        tail = text[end + len(_END) :].strip("\n")
        text = text[:begin].rstrip("\n") + ("\n\n" + tail if tail else "")
    text = text.rstrip("\n") + "\n\n" if text.strip() else ""
    _atomic_write(path, text + policy_text(profile))
    return path


def write_pipeline(root: Path) -> Path:
    """Copy the demo pipeline to ``pipelines/training.py`` (kept if the user changed it)."""
    source = Path(__file__).with_name("quickstart_pipeline.py").read_text(encoding="utf-8")
    path = root / "pipelines" / "training.py"
    path.parent.mkdir(exist_ok=True)
    if not path.is_file():
        _atomic_write(path, source)
    return path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
