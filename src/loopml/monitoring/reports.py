"""``status`` and the HTML monitoring report of a deployment, from stored windows only.

The report reads window rows (and the alert history); it never re-reads payload logs, so a
month of hourly windows renders in milliseconds. Charts are the data package's inline SVG.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.monitoring import _stores
from loopml.monitoring.config import load_config, window_spec
from loopml.monitoring.windows import WindowResult, compute_windows, list_windows
from loopml.store.metadata.monitoring_base import Alert

if TYPE_CHECKING:
    import jinja2

__all__ = ["Status", "report", "status"]


@dataclass
class Status:
    deployment: str
    spec: str
    windows: list[WindowResult]
    alerts: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "window": self.spec,
            "windows": [w.to_dict() for w in self.windows],
            "alerts": [a.to_dict() for a in self.alerts],
        }


def status(deployment: str, *, window: str | None = None, last: int = 5) -> Status:
    """The last ``last`` windows (computing any that closed) and the recent alerts."""
    spec = window_spec(window) if window else load_config(deployment).window
    compute_windows(deployment, spec)
    windows = list_windows(deployment, spec, limit=last)
    alerts = _stores.monitoring_store().list_alerts(deployment, limit=10)
    return Status(deployment, spec, windows, alerts)


def report(
    deployment: str,
    *,
    window: str | None = None,
    out: str | Path | None = None,
    last: int = 48,
) -> str:
    """A self-contained HTML page of the last ``last`` windows; written to ``out`` if given."""
    current = status(deployment, window=window, last=last)
    page = render(current)
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
    return page


def render(current: Status) -> str:
    from loopml.data._html import chart

    windows = current.windows
    latest = windows[-1] if windows else None
    columns = []
    if latest is not None:
        drift = latest.metrics.get("input_drift", {}).get("columns", {})
        columns = sorted(drift.values(), key=lambda c: (not c.get("drifted"), c.get("column")))
    return (
        _env()
        .get_template("monitor.html.j2")
        .render(
            status=current,
            windows=windows,
            latest=latest,
            columns=columns,
            series=_series(windows),
            chart=chart,
            when=_when,
        )
    )


def _series(windows: list[WindowResult]) -> list[dict[str, Any]]:
    """Time-series charts over the windows (one bar per window)."""
    from markupsafe import Markup

    from loopml.data._svg import bars

    if not windows:
        return []
    labels = [_when(w.start_ms)[11:16] for w in windows]
    out = []
    for key, title in (
        ("drift_share", "share of drifted features"),
        ("error_rate", "error rate"),
        ("accuracy", "accuracy (labelled rows)"),
    ):
        values = [w.values.get(key) for w in windows]
        if all(v is None for v in values):
            continue
        svg = bars([[float(v or 0.0) for v in values]], labels=labels, names=(key,), title=title)
        out.append({"title": title, "svg": Markup(svg)})  # noqa: S704 (escaped by _svg)
    return out


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    import jinja2

    from loopml.data._html import _num

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("loopml.monitoring", "templates"),
                jinja2.PackageLoader("loopml.data", "templates"),
            ]
        ),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    return env
