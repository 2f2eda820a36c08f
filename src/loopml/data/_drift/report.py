"""What a drift check found: one :class:`ColumnDrift` per column and the dataset verdict.

Every column says which test ran, why that test, the threshold and the rule, so a reader can
disagree with a verdict and override it (``tests={"age": "psi"}``). Reports built from stored
profiles say that their statistics are histogram approximations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ColumnDrift", "DriftReport"]


@dataclass(frozen=True)
class ColumnDrift:
    """The drift test of one column."""

    column: str
    kind: str  # "numeric" | "categorical"
    test: str  # "ks" | "chi2" | "wasserstein" | "jensenshannon" | "psi"
    test_title: str
    statistic: float  # KS D, χ², or the distance
    p_value: float | None  # for significance tests; None for distances
    threshold: float
    rule: str  # "p < 0.05" or "distance >= 0.1"
    drifted: bool
    reason: str  # why this test was chosen
    reference_count: int
    current_count: int
    reference_missing: int = 0
    current_missing: int = 0
    approximate: bool = False  # computed from stored histograms, not from the data
    plot: dict[str, Any] = field(default_factory=dict)  # histograms for the HTML page

    @property
    def value(self) -> float:
        """What the threshold is compared with: the p-value, or the distance."""
        return self.p_value if self.p_value is not None else self.statistic

    @property
    def distance(self) -> float | None:
        return None if self.p_value is not None else self.statistic

    def to_dict(self, *, plot: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = self.value
        if not plot:
            data.pop("plot")
        return {k: _finite(v) for k, v in data.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class DriftReport:
    """Per-column drift and the dataset verdict: drift when ``share >= share_threshold``."""

    columns: dict[str, ColumnDrift]
    share_threshold: float
    reference_rows: int
    current_rows: int
    source: str = "data"  # "data" or "profiles" (histogram approximations)
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why not tested
    reference_label: str = "reference"
    current_label: str = "current"

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.drifted]

    @property
    def share(self) -> float:
        """Share of tested columns that drifted."""
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.share >= self.share_threshold

    def __getitem__(self, column: str) -> ColumnDrift:
        return self.columns[column]

    def summary(self) -> str:
        verdict = "DRIFT" if self.dataset_drift else "no dataset drift"
        return (
            f"{verdict}: {len(self.drifted_columns)} of {len(self.columns)} columns drifted "
            f"(share {self.share:.2f}, threshold {self.share_threshold:g})"
        )

    def __repr__(self) -> str:
        return f"<DriftReport {self.summary()}; drifted={self.drifted_columns}>"

    def to_dict(self, *, plots: bool = False) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "share": self.share,
            "share_threshold": self.share_threshold,
            "drifted_columns": self.drifted_columns,
            "reference": {"label": self.reference_label, "rows": self.reference_rows},
            "current": {"label": self.current_label, "rows": self.current_rows},
            "source": self.source,
            "approximate": self.source == "profiles",
            "columns": {name: col.to_dict(plot=plots) for name, col in self.columns.items()},
            "skipped": dict(self.skipped),
        }

    def to_json(self, path: str | Path | None = None, *, plots: bool = False) -> str:
        """The report as JSON (NaN as null); also written to ``path`` if given."""
        import orjson

        text = orjson.dumps(
            self.to_dict(plots=plots), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
        ).decode()
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page with a reference-vs-current histogram per column."""
        from loopml.data._drift.html import render

        page = render(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page
