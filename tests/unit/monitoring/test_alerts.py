"""Alert rules: parsing, consecutive windows, deduplication, cooldown, history, and webhooks
that are down, slow or flaky (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

import loopml
from loopml.errors import InvalidParameterError
from loopml.monitoring import alert_rules, evaluate_alerts, list_alerts
from loopml.monitoring.channels import WebhookSender
from loopml.monitoring.rules import parse_rule
from tests.unit.monitoring.conftest import HOUR, T0, Served, log_requests, make_data


def _config(root: Path, body: str) -> None:
    (root / "loopml.toml").write_text(f"[loopml]\n[monitor.churn-prod]\n{body}\n")
    loopml.configure(root)


def test_rule_text() -> None:
    rule = parse_rule("drift_share > 0.3 for 2 windows")
    assert (rule.name, rule.metric, rule.op, rule.threshold, rule.windows) == (
        "input_drift",
        "drift_share",
        ">",
        0.3,
        2,
    )
    assert parse_rule("latency_p99_ms > 200").name == "latency"
    assert parse_rule("error_rate > 0.01").severity == "critical"
    named = parse_rule("spend: accuracy < 0.8 for 3 consecutive windows critical")
    assert (named.name, named.windows, named.severity) == ("spend", 3, "critical")
    assert parse_rule("deployment_down").liveness
    for bad in ("drift_share >", "drift_share ~ 3", "x > 1 for 0 windows", ""):
        with pytest.raises(InvalidParameterError, match=r"alert rule|N >= 1"):
            parse_rule(bad)


def test_rules_merge_defaults_with_the_project_file(served: Served) -> None:
    _config(served.root, 'rules = ["drift_share > 0.2", "throughput_rps < 1"]')
    found = {r.metric: r for r in alert_rules(served.deployment)}
    assert found["drift_share"].threshold == 0.2 and found["drift_share"].windows == 1
    assert found["throughput_rps"].name == "throughput_rps"
    assert "latency_p99_ms" in found and "deployment_down" in found
    _config(served.root, "rules = 3")
    with pytest.raises(InvalidParameterError, match="list of strings"):
        alert_rules(served.deployment)


def test_drift_for_two_windows_fires_once_then_cools_down(served: Served) -> None:
    _config(served.root, 'cooldown = "2h"')
    for hour in range(4):
        frames = [make_data(1000, shift=2.0, seed=hour * 10 + i) for i in range(3)]
        log_requests(served.deployment, frames, served.model, start_ms=T0 + hour * HOUR)
    assert evaluate_alerts(served.deployment, now_ms=T0 + HOUR + 10_000) == []  # one window only
    fired = evaluate_alerts(served.deployment, now_ms=T0 + 2 * HOUR + 10_000)
    assert sorted(a.name for a in fired) == ["input_drift", "output_drift"]
    (alert,) = [a for a in fired if a.name == "input_drift"]
    assert alert.value is not None and alert.value >= 0.5
    assert alert.threshold == 0.3 and alert.window_id is not None and "f0" in alert.message
    assert evaluate_alerts(served.deployment, now_ms=T0 + 2 * HOUR + 20_000) == []  # dedup
    # the next drifted window is inside the 2 h cooldown: suppressed
    assert evaluate_alerts(served.deployment, now_ms=T0 + 3 * HOUR + 10_000) == []
    _config(served.root, 'cooldown = "1s"')
    (again,) = [
        a
        for a in evaluate_alerts(served.deployment, now_ms=T0 + 4 * HOUR + 10_000)
        if a.name == "input_drift"
    ]
    assert again.window_id != alert.window_id
    history = list_alerts(served.deployment, name="input_drift")
    assert [a.id for a in history] == [alert.id, again.id]
    assert list_alerts(name="input_drift") == history
    recent = list_alerts(served.deployment, since_ms=again.created_ms)
    assert [a.name for a in recent] == ["input_drift", "output_drift"] and recent[0] == again
    assert list_alerts("other") == []


def test_error_rate_and_latency_rules(served: Served) -> None:
    frames = [make_data(5, seed=i) for i in range(3)]
    log_requests(served.deployment, frames, served.model, latency_ms=450.0)
    log_requests(served.deployment, frames[:1], served.model, start_ms=T0 + 5000, status=500)
    fired = evaluate_alerts(served.deployment, now_ms=T0 + 2 * HOUR)
    names = {a.name: a for a in fired}
    assert set(names) == {"error_rate", "latency"}
    assert names["error_rate"].severity == "critical" and names["error_rate"].value == 0.25


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []
    delay = 0.0
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        time.sleep(type(self).delay)
        type(self).received.append(orjson.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "delay": 0.0, "fail_first": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_receives_the_alert(served: Served, hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    _config(served.root, f'webhook = "{url}"')
    log_requests(served.deployment, [make_data(5, seed=1)], served.model, status=500)
    (alert,) = evaluate_alerts(served.deployment, now_ms=T0 + 2 * HOUR)
    from loopml.monitoring.channels import sender

    assert sender().flush(10)
    assert handler.received == [{"alert": alert.to_dict(), "source": "loopml"}]


def test_down_webhook_never_blocks_the_caller(served: Served) -> None:
    from loopml.monitoring.channels import sender

    _config(served.root, f'webhook = "http://127.0.0.1:{_closed_port()}/hook"')
    log_requests(served.deployment, [make_data(5, seed=1)], served.model, status=500)
    webhooks = sender()
    failed = webhooks.failed
    assert len(evaluate_alerts(served.deployment, now_ms=T0 + 2 * HOUR)) == 1
    # the alert is stored and returned while its webhook is still being retried (>= 3.5 s)
    assert not webhooks.flush(0)
    assert list_alerts(served.deployment)[0].name == "error_rate"
    assert webhooks.flush(20) and webhooks.failed == failed + 1


def test_slow_and_flaky_webhooks(hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    handler.delay = 1.5
    sender = WebhookSender(timeout_s=5, retries=3, backoff_s=0.05)
    started = time.perf_counter()
    for n in range(3):
        assert sender.send(url, {"n": n})
    assert time.perf_counter() - started < 0.1  # queued, not sent
    assert sender.flush(15) and sender.sent == 3
    handler.delay, handler.fail_first = 0.0, 2
    assert sender.send(url, {"n": "retried"}) and sender.flush(10)
    assert handler.received[-1] == {"n": "retried"} and sender.failed == 0
    down = WebhookSender(timeout_s=0.5, retries=2, backoff_s=0.01)
    assert down.send(f"http://127.0.0.1:{_closed_port()}/x", {"n": 1})
    assert down.flush(10) and down.failed == 1 and down.sent == 0
    full = WebhookSender(max_queue=1, timeout_s=5, backoff_s=0.01)
    handler.delay = 1.0
    results = [full.send(url, {"n": i}) for i in range(5)]
    assert results.count(False) >= 3 and full.dropped == results.count(False)


def test_a_replaced_version_no_longer_fires() -> None:
    from types import SimpleNamespace

    from loopml.monitoring.alerts import _still_served

    def w(start: int, end: int) -> SimpleNamespace:
        return SimpleNamespace(start_ms=start, end_ms=end)

    series = {
        "1": [w(0, 10), w(10, 20)],  # replaced by v2 at t=20: its drifted windows stay stored
        "2": [w(20, 30), w(30, 40)],
        "3": [w(30, 40)],  # a canary beside v2 in the newest window
    }
    assert sorted(_still_served(series)) == ["2", "3"]
    one = {"1": [w(5, 5)]}  # a request-count window whose requests share one millisecond
    assert _still_served(one) == one
