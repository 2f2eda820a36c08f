"""Windows over payload logs: a real covariate shift is flagged, unchanged traffic is not, each
window is computed once, and traffic numbers (errors, latency, throughput, skew) are exact."""

from __future__ import annotations

import orjson
import pytest

from loopml.errors import InvalidParameterError, NotFoundError
from loopml.monitoring import compute_windows, list_windows
from loopml.monitoring import payloads as payloads_module
from loopml.monitoring import windows as windows_module
from tests.unit.monitoring.conftest import FEATURES, HOUR, T0, Served, log_requests, make_data


def test_shift_is_flagged_and_unchanged_traffic_is_not(served: Served) -> None:
    calm = [make_data(200, seed=i + 1) for i in range(10)]
    log_requests(served.deployment, calm, served.model)
    shifted = [make_data(200, shift=1.5, seed=i + 50) for i in range(10)]
    log_requests(served.deployment, shifted, served.model, start_ms=T0 + HOUR)
    first, second = compute_windows(served.deployment, "1h", now_ms=T0 + 3 * HOUR)
    assert (first.start_ms, first.end_ms) == (T0, T0 + HOUR)
    assert first.drifted_features == [] and first.drift_share == 0.0
    assert first.metrics["output_drift"]["drifted"] is False
    assert sorted(second.drifted_features) == ["f0", "f1"]
    assert second.drift_share == pytest.approx(2 / len(FEATURES))
    assert second.metrics["output_drift"]["drifted"] is True  # f0 drives the prediction
    assert second.metrics["reference"]["dataset_uri"] == "data:/customers/1"
    assert second.rows == 2000 and second.requests == 10 and second.model_version == "1"
    assert set(second.metrics["input_drift"]["columns"]) == set(FEATURES)


def test_each_window_is_computed_once_and_history_is_not_reread(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[int | None, int | None]] = []
    real = payloads_module.read_payloads

    def counting(deployment: str, since: int | None, until: int | None, **kw: object) -> object:
        reads.append((since, until))
        return real(deployment, since, until, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(windows_module, "read_payloads", counting)
    log_requests(served.deployment, [make_data(50, seed=1)] * 3, served.model)
    assert len(compute_windows(served.deployment, "1h", now_ms=T0 + HOUR + 10_000)) == 1
    assert reads == [(T0, T0 + HOUR)]
    assert compute_windows(served.deployment, "1h", now_ms=T0 + 5 * HOUR) == []
    assert len(reads) == 1  # nothing new: nothing read
    log_requests(
        served.deployment, [make_data(50, seed=2)] * 2, served.model, start_ms=T0 + 4 * HOUR
    )
    new = compute_windows(served.deployment, "1h", now_ms=T0 + 6 * HOUR)
    assert [(w.start_ms, w.requests) for w in new] == [(T0 + 4 * HOUR, 2)]
    assert reads[1:] == [(T0 + 4 * HOUR, T0 + 5 * HOUR)]  # empty hours skipped, old not re-read
    assert [w.start_ms for w in list_windows(served.deployment, "1h")] == [T0, T0 + 4 * HOUR]


def test_open_window_waits_for_its_end_plus_lag(served: Served) -> None:
    log_requests(served.deployment, [make_data(20, seed=1)], served.model)
    assert compute_windows(served.deployment, "1h", now_ms=T0 + HOUR + 1_000) == []  # within lag
    assert len(compute_windows(served.deployment, "1h", now_ms=T0 + HOUR + 6_000)) == 1


def test_request_count_windows(served: Served) -> None:
    log_requests(served.deployment, [make_data(10, seed=i) for i in range(7)], served.model)
    made = compute_windows(served.deployment, requests=3, now_ms=T0 + HOUR)
    assert [w.requests for w in made] == [3, 3]
    assert made[0].spec == "requests=3" and made[0].start_ms == T0
    assert made[1].start_ms == T0 + 3000 and made[1].end_ms == T0 + 5001
    log_requests(served.deployment, [make_data(10, seed=9)] * 2, served.model, start_ms=T0 + 7000)
    more = compute_windows(served.deployment, requests=3, now_ms=T0 + HOUR)
    assert [(w.start_ms, w.requests) for w in more] == [(T0 + 6000, 3)]


def test_errors_latency_throughput_and_versions(served: Served) -> None:
    frames = [make_data(10, seed=i) for i in range(4)]
    log_requests(served.deployment, frames, served.model, latency_ms=10.0)
    log_requests(
        served.deployment, frames[:1], served.model, start_ms=T0 + 9000, status=400, latency_ms=1.0
    )
    log_requests(
        served.deployment,
        frames[:2],
        served.model,
        start_ms=T0 + 20_000,
        version="2",
        latency_ms=300.0,
    )
    made = {w.model_version: w for w in compute_windows(served.deployment, "1m", now_ms=T0 + HOUR)}
    assert set(made) == {"1", "2"}
    v1 = made["1"].values
    assert v1["requests"] == 5 and v1["errors"] == 1 and v1["error_rate"] == pytest.approx(0.2)
    assert v1["latency_p50_ms"] == 10.0 and v1["latency_p99_ms"] == pytest.approx(10.0)
    assert v1["throughput_rps"] == pytest.approx(5 / 60)
    assert made["1"].rows == 40  # the failed request's rows are not features
    assert made["2"].values["latency_p99_ms"] == 300.0


def test_training_serving_skew(served: Served) -> None:
    def body(frame: object) -> bytes:
        records = frame[FEATURES].to_dict("records")  # type: ignore[index]
        for r in records[:5]:
            r.pop("f3")
            r["f2"] = "n/a"
        records[0]["surprise"] = 1
        return orjson.dumps({"dataframe_records": records})

    log_requests(served.deployment, [make_data(20, seed=3)], served.model, body=body)
    (window,) = compute_windows(served.deployment, "1h", now_ms=T0 + 2 * HOUR)
    skew = window.metrics["skew"]
    assert skew["missing"] == {"f3": 5}
    assert skew["unexpected"] == {"surprise": 1}
    assert skew["type_violations"] == {"f2": 5}
    assert window.values["missing_share"] == pytest.approx(5 / (20 * 4))


def test_bad_arguments_are_typed_errors(served: Served) -> None:
    with pytest.raises(NotFoundError, match="no deployment"):
        compute_windows("nope", "1h")
    with pytest.raises(InvalidParameterError, match="not a duration"):
        compute_windows(served.deployment, "soon")
    with pytest.raises(InvalidParameterError, match="not both"):
        compute_windows(served.deployment, "1h", requests=10)
    with pytest.raises(InvalidParameterError, match="positive integer"):
        compute_windows(served.deployment, requests=0)
