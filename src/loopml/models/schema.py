"""Signatures: what a model takes and returns, as plain JSON a serving host can read.

A signature is either *columns* (named, each with a dtype: tabular models) or a *tensor* (one
dtype and a shape whose first dimension, the batch, is ``-1``). It is inferred from the input
example and one prediction on it, so a user never writes one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from loopml.errors import InvalidParameterError

__all__ = ["ColumnSpec", "Schema", "Signature", "dtype_name", "infer_schema", "infer_signature"]

STR = "str"
CATEGORY = "category"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: str


@dataclass(frozen=True)
class Schema:
    """``kind="columns"`` uses ``columns``; ``kind="tensor"`` uses ``dtype`` and ``shape``."""

    kind: Literal["columns", "tensor"]
    columns: tuple[ColumnSpec, ...] = ()
    dtype: str | None = None
    shape: tuple[int, ...] | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "columns":
            return {
                "kind": "columns",
                "columns": [{"name": c.name, "dtype": c.dtype} for c in self.columns],
            }
        return {"kind": "tensor", "dtype": self.dtype, "shape": list(self.shape or ())}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Schema:
        try:
            if body["kind"] == "columns":
                cols = tuple(ColumnSpec(str(c["name"]), str(c["dtype"])) for c in body["columns"])
                return cls("columns", columns=cols)
            if body["kind"] == "tensor":
                return cls("tensor", dtype=str(body["dtype"]), shape=tuple(body["shape"]))
        except (KeyError, TypeError) as exc:
            raise InvalidParameterError(f"not a loopml schema: missing {exc}") from None
        raise InvalidParameterError(f"not a loopml schema kind: {body.get('kind')!r}")


@dataclass(frozen=True)
class Signature:
    inputs: Schema
    outputs: Schema | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict() if self.outputs else None,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Signature:
        outputs = body.get("outputs")
        return cls(Schema.from_dict(body["inputs"]), Schema.from_dict(outputs) if outputs else None)


def dtype_name(dtype: Any) -> str:
    """A portable dtype name: numpy's for numbers, bools and datetimes; ``str`` for text."""
    if getattr(dtype, "name", None) == "category":
        return CATEGORY
    kind = getattr(dtype, "kind", "O")
    if kind in "fiub":
        return str(getattr(dtype, "name", dtype))
    if kind == "M":
        return "datetime64[ns]"
    if kind == "m":
        return "timedelta64[ns]"
    return STR  # object, numpy U/S, pandas string dtypes


def infer_schema(data: Any) -> Schema:
    """The schema of a DataFrame, dict of columns, list of dicts, array or list of rows."""
    import numpy as np

    if _is_frame(data):
        return Schema(
            "columns",
            columns=tuple(ColumnSpec(str(n), dtype_name(t)) for n, t in data.dtypes.items()),
        )
    if _is_series(data):
        return Schema("tensor", dtype=dtype_name(data.dtype), shape=(-1,))
    if isinstance(data, dict):
        return Schema(
            "columns",
            columns=tuple(
                ColumnSpec(str(n), dtype_name(np.asarray(v).dtype)) for n, v in data.items()
            ),
        )
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        import pandas as pd

        return infer_schema(pd.DataFrame.from_records(data))
    array = np.asarray(data)
    if array.ndim == 0:
        raise InvalidParameterError(
            "an input example must hold rows (a DataFrame, array or list), not a scalar"
        )
    return Schema("tensor", dtype=dtype_name(array.dtype), shape=(-1, *array.shape[1:]))


def infer_signature(example: Any, prediction: Any = None) -> Signature:
    """Inputs from ``example``; outputs from ``prediction`` (a model's output on it)."""
    outputs = None
    if prediction is not None:
        try:
            outputs = infer_schema(prediction)
        except (InvalidParameterError, TypeError, ValueError):
            outputs = None  # a prediction of an unusual type still leaves a useful signature
    return Signature(infer_schema(example), outputs)


def _is_frame(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "dtypes")


def _is_series(data: Any) -> bool:
    return type(data).__name__ == "Series" and hasattr(data, "dtype")
