"""``loopml.data.validate``: check a table against a :class:`DataSchema` and custom checks.

The result is a :class:`ValidationReport` listing anomalies by column with a severity; a
pipeline step calls ``.raise_if_failed()`` so that bad data stops it with a
:class:`~loopml.errors.DataValidationError` that carries the report. Checks are vectorised
(pyarrow compute), so validating a million rows takes a fraction of a second.

Named ``validation`` so that ``loopml.data.validate`` stays the function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from loopml.errors import DataValidationError, InvalidParameterError

__all__ = [
    "Anomaly",
    "Check",
    "ValidationFailedError",
    "ValidationReport",
    "show_value",
    "validate",
]

Severity = Literal["error", "warning"]
# A custom check gets the table as a pandas DataFrame and returns True/None (passed), False or
# a message (failed), or a list of messages / anomalies.
Check = Callable[[Any], Any]


@dataclass(frozen=True)
class Anomaly:
    """One way the data breaks its schema or a check."""

    column: str | None  # None for table-wide anomalies (row count, composite keys)
    kind: str  # missing_column, unexpected_column, type_mismatch, mixed_types, ...
    severity: Severity
    message: str
    observed: Any = None
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationReport:
    """Anomalies found in one table; ``ok`` unless one of them is an error."""

    anomalies: list[Anomaly] = field(default_factory=list)
    rows: int = 0
    source: str = ""
    schema: str = ""

    @property
    def errors(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == "error"]

    @property
    def warnings(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def __bool__(self) -> bool:
        return self.ok

    def by_column(self) -> dict[str | None, list[Anomaly]]:
        out: dict[str | None, list[Anomaly]] = {}
        for anomaly in self.anomalies:
            out.setdefault(anomaly.column, []).append(anomaly)
        return out

    def summary(self) -> str:
        what = self.source or "the data"
        if not self.anomalies:
            return f"{what}: valid ({self.rows:,} rows)"
        return (
            f"{what}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) "
            f"in {self.rows:,} rows"
        )

    def __repr__(self) -> str:
        return f"<ValidationReport {self.summary()}>"

    def raise_if_failed(self) -> ValidationReport:
        """Raise :class:`DataValidationError` (with this report as ``.report``) on any error."""
        if self.ok:
            return self
        shown = "; ".join(
            (f"{a.column}: " if a.column else "") + a.message for a in self.errors[:5]
        )
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        raise ValidationFailedError(f"{self.summary()}: {shown}{more}", self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "source": self.source,
            "schema": self.schema,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "anomalies": [a.to_dict() for a in self.anomalies],
        }

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained page: the verdict and a table of anomalies."""
        from loopml.data._html import render

        page = render("validation.html.j2", report=self, show=show_value)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def to_json(self, path: str | Path | None = None) -> str:
        import orjson

        text = orjson.dumps(
            self.to_dict(),
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
            default=str,
        ).decode()
        if path is not None:
            Path(path).write_text(text + "\n")
        return text


def show_value(value: Any) -> str:
    """An observed/expected value in a few words (lists cut at 8 items)."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value[:8])
        return text + (f", ... ({len(value)})" if len(value) > 8 else "")
    return str(value)


class ValidationFailedError(DataValidationError):
    """A :class:`DataValidationError` whose ``report`` holds every anomaly found."""

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message, anomalies=[a.to_dict() for a in report.anomalies])
        self.report = report


def validate(
    source: Any,
    schema: Any = None,
    checks: Iterable[Check] | Mapping[str, Check] = (),
) -> ValidationReport:
    """Validate a DataFrame, Arrow table, Parquet/CSV path or ``data:/`` URI.

    ``schema``: a :class:`DataSchema`, the path of its YAML file, or None (checks only).
    ``checks``: callables given the table as a pandas DataFrame (a mapping names them).
    """
    from loopml.data._checks import custom_anomalies, schema_anomalies
    from loopml.data._source import load
    from loopml.data.schema import DataSchema

    if isinstance(schema, str | Path):
        schema = DataSchema.from_yaml(schema)
    if schema is not None and not isinstance(schema, DataSchema):
        raise InvalidParameterError(
            f"schema must be a DataSchema or a YAML path, not {type(schema).__name__}"
        )
    named = _named_checks(checks)
    loaded = load(source, on_mixed="collect")
    anomalies: list[Anomaly] = []
    if schema is not None:
        anomalies.extend(schema_anomalies(loaded, schema))
    if named:
        anomalies.extend(custom_anomalies(loaded, named))
    return ValidationReport(
        anomalies=anomalies,
        rows=int(loaded.table.num_rows),
        source=loaded.label,
        schema=schema.source if schema is not None else "",
    )


def _named_checks(checks: Iterable[Check] | Mapping[str, Check]) -> list[tuple[str, Check]]:
    if isinstance(checks, Mapping):
        items = list(checks.items())
    elif callable(checks):
        items = [(getattr(checks, "__name__", "check"), checks)]
    else:
        items = [(getattr(c, "__name__", f"check {i + 1}"), c) for i, c in enumerate(checks)]
    for name, check in items:
        if not callable(check):
            raise InvalidParameterError(f"check {name!r} is not callable")
    return items
