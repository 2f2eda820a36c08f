"""The drift report as a self-contained HTML page: a verdict, a table, a histogram per column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.data import _html

if TYPE_CHECKING:
    from loopml.data._drift.report import DriftReport

__all__ = ["render"]


def render(report: DriftReport) -> str:
    # Drifted columns first: they are what a reader opened the page for.
    ordered = sorted(report.columns.values(), key=lambda c: (not c.drifted, c.column))
    return _html.render("drift.html.j2", report=report, columns=ordered)
