"""Signature enforcement at predict time: a plan built once at load, applied on every call.

The plan knows the column order, the target dtypes and what shape the flavor wants (a DataFrame
only when the model needs one, else a numpy array), so a call does a few dict lookups and at
most one cast. Typed inputs (DataFrames, arrays) may only be cast losslessly (int32 -> int64,
int -> float); plain Python values (lists, dicts: what JSON decodes to) may also narrow a float,
since JSON has no float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import InvalidParameterError
from loopml.models.schema import CATEGORY, STR, Schema, Signature, dtype_name

if TYPE_CHECKING:
    import numpy as np

__all__ = ["InputKind", "InputPlan"]

InputKind = Literal["frame", "array", "any", "native"]
ExtraColumns = Literal["ignore", "reject"]
_OK = "ok"


class InputPlan:
    """Turns what a caller passes into what the flavor predicts on, or says what is wrong."""

    def __init__(
        self, signature: Signature | None, wants: InputKind, extra_columns: ExtraColumns = "ignore"
    ) -> None:
        if extra_columns not in ("ignore", "reject"):
            raise InvalidParameterError(
                f"extra_columns must be 'ignore' or 'reject', got {extra_columns!r}"
            )
        self.schema: Schema | None = signature.inputs if signature else None
        if wants == "native":  # what the signature describes: a frame for columns, else as is
            kind = self.schema.kind if self.schema else None
            wants = "frame" if kind == "columns" else "array" if kind == "tensor" else "any"
        self.wants = wants
        self.reject_extra = extra_columns == "reject"
        self._rules: dict[tuple[str, Any, bool], str | np.dtype[Any] | None] = {}
        if self.schema is not None and self.schema.kind == "columns":
            self.names = self.schema.names
            self._name_set = frozenset(self.names)
            self.targets = {c.name: c.dtype for c in self.schema.columns}
            numeric = all(_is_numeric(d) for d in self.targets.values())
            self.array_dtype: str | None = _common_dtype(self.targets.values()) if numeric else None
            if wants == "array" and self.array_dtype is None:
                self.wants = "frame"  # text or categorical columns need a frame

    # -- entry point ------------------------------------------------------------------------
    def prepare(self, data: Any) -> Any:
        schema = self.schema
        if schema is None:
            return self._untyped(data)
        if schema.kind == "columns":
            return self._columns(data)
        return self._tensor(data, schema)

    # -- columns ----------------------------------------------------------------------------
    def _columns(self, data: Any) -> Any:
        import numpy as np

        if _is_frame(data):
            return self._frame(data)
        if isinstance(data, Mapping):
            return self._mapping(data)
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            return self._mapping(_records_to_columns(data, self.names), lenient=True)
        if _is_series(data):  # one row, its index naming the columns
            return self._mapping({k: [v] for k, v in data.items()}, lenient=True)
        lenient = not isinstance(data, np.ndarray)
        array = np.asarray(data) if lenient else data
        if array.ndim == 1 and array.shape[0] == len(self.names) and array.dtype.kind != "O":
            array = array.reshape(1, -1)
        _check_rows(array.shape[0] if array.ndim else 0)
        if array.ndim != 2 or array.shape[1] != len(self.names):
            raise InvalidParameterError(
                f"expected rows of {len(self.names)} values ({_listing(self.names)}), got an "
                f"array of shape {tuple(array.shape)}; pass a DataFrame or a list of dicts to "
                "name the columns",
                expected=self.names,
            )
        if self.wants == "array" and self.array_dtype is not None:
            cast = self._rule("*", array.dtype, self.array_dtype, lenient)
            return array if cast is None else array.astype(cast)
        import pandas as pd

        return self._frame(pd.DataFrame(array, columns=self.names), lenient=lenient)

    def _frame(self, frame: Any, lenient: bool = False) -> Any:
        _check_rows(len(frame))
        present = frame.columns.tolist()  # a list and a dict: far cheaper than pandas look-ups
        dtypes = dict(zip(present, frame.dtypes.tolist(), strict=True))
        if self.reject_extra or len(present) != len(self.names):
            self._check_names(set(present))
        casts: dict[str, Any] = {}
        for name in self.names:
            try:
                src = dtypes[name]
            except KeyError:
                raise self._missing(name) from None
            cast = self._rule(name, src, self.targets[name], lenient)
            if cast is not None:
                casts[name] = cast
        same_order = present == self.names
        if self.wants == "array" and self.array_dtype is not None:
            if same_order:
                return frame.to_numpy(dtype=self.array_dtype)
            if all(_is_numeric(dtype_name(t)) for t in dtypes.values()):
                index = [present.index(n) for n in self.names]
                return frame.to_numpy(dtype=self.array_dtype)[:, index]
            return frame.reindex(columns=self.names).to_numpy(dtype=self.array_dtype)
        if not same_order:
            frame = frame.reindex(columns=self.names)
        return frame.astype(casts) if casts else frame

    def _mapping(self, columns: Mapping[str, Any], lenient: bool = True) -> Any:
        import numpy as np

        self._check_names(set(columns))
        arrays: dict[str, Any] = {}
        for name in self.names:
            value = columns[name]
            array = value if isinstance(value, np.ndarray) else np.asarray(value)
            arrays[name] = array if array.ndim else array.reshape(1)  # {"a": 1.0}: one row
        lengths = {a.shape[0] for a in arrays.values()}
        if len(lengths) > 1:
            raise InvalidParameterError(
                f"the columns have different lengths ({sorted(lengths)}): every column needs "
                "one value per row"
            )
        _check_rows(lengths.pop())
        if self.wants == "array" and self.array_dtype is not None:
            for name, array in arrays.items():
                self._rule(name, array.dtype, self.targets[name], lenient)
            return np.column_stack([arrays[n] for n in self.names]).astype(
                self.array_dtype, copy=False
            )
        import pandas as pd

        return self._frame(pd.DataFrame(arrays), lenient=lenient)

    def _check_names(self, present: set[Any]) -> None:
        for name in self.names:
            if name not in present:
                raise self._missing(name)
        if self.reject_extra:
            extra = sorted(str(n) for n in present - self._name_set)
            if extra:
                raise InvalidParameterError(
                    f"input has columns the model does not take: {_listing(extra)}; drop them, "
                    "or load the model with extra_columns='ignore'",
                    extra=extra,
                )

    def _missing(self, name: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"input is missing column {name!r}; the model's signature expects "
            f"{_listing(self.names)}",
            column=name,
        )

    # -- tensors ----------------------------------------------------------------------------
    def _tensor(self, data: Any, schema: Schema) -> Any:
        import numpy as np

        if _is_frame(data) or _is_series(data):
            data = data.to_numpy()
        lenient = not isinstance(data, np.ndarray)
        array = np.asarray(data) if lenient else data
        shape = schema.shape or ()
        if array.ndim == len(shape) - 1 and len(shape) > 1:
            array = array.reshape(1, *array.shape)  # one row without its batch dimension
        _check_rows(array.shape[0] if array.ndim else 0)
        fixed = shape[1:]
        if array.ndim != len(shape) or any(
            want not in (-1, None) and got != want
            for want, got in zip(fixed, array.shape[1:], strict=True)
        ):
            raise InvalidParameterError(
                f"expected a tensor of shape {_shape(shape)}, got {tuple(array.shape)}",
                expected=list(shape),
                got=list(array.shape),
            )
        assert schema.dtype is not None
        cast = self._rule("input", array.dtype, schema.dtype, lenient)
        if cast is not None:
            array = array.astype(cast)
        if self.wants == "frame":
            import pandas as pd

            return pd.DataFrame(array)
        return array

    # -- no signature -----------------------------------------------------------------------
    def _untyped(self, data: Any) -> Any:
        if self.wants == "any":
            return data
        if self.wants == "frame":
            if _is_frame(data):
                return data
            import pandas as pd

            if isinstance(data, list) and data and isinstance(data[0], Mapping):
                return pd.DataFrame.from_records(data)
            return pd.DataFrame(data)
        import numpy as np

        return data.to_numpy() if _is_frame(data) else np.asarray(data)

    # -- dtype rules ------------------------------------------------------------------------
    def _rule(self, name: str, src: Any, target: str, lenient: bool) -> Any:
        """None if ``src`` is fine as it is, a dtype to cast to, or a raised error (cached)."""
        key = (name, src, lenient)
        try:
            rule = self._rules[key]
        except (KeyError, TypeError):
            rule = _decide(src, target, lenient)
            with contextlib.suppress(TypeError):  # an unhashable dtype: decide each time
                self._rules[key] = rule
        if isinstance(rule, str) and rule != _OK:
            raise InvalidParameterError(
                f"column {name!r} {rule}" if name not in ("*", "input") else f"input {rule}",
                column=name,
            )
        return None if rule == _OK else rule


def _decide(src: Any, target: str, lenient: bool) -> Any:
    """``_OK``, a numpy dtype to cast to, or the end of an error sentence."""
    import numpy as np

    got = dtype_name(src)
    if got == target:
        return _OK
    if target == STR:
        return _OK if got in (STR, CATEGORY) else _wrong(got, target, "as text")
    if target == CATEGORY:
        return _OK if got == STR else _wrong(got, target, "as a category")
    if not _is_numeric(target):
        return _OK if got.startswith(target.split("[")[0]) else _wrong(got, target, "")
    want = np.dtype(target)
    try:
        have = np.dtype(getattr(src, "numpy_dtype", src))
    except TypeError:
        return _wrong(got, target, "")
    if have.kind not in "fiub":
        return _wrong(got, target, "(values that are not numbers)")
    if (
        np.can_cast(have, want, "safe")
        or (have.kind in "iub" and want.kind == "f")
        or (lenient and have.kind == want.kind == "f")
        or (lenient and have.kind in "iu" and want.kind in "iu")
    ):
        return want
    return _wrong(got, target, "(the conversion would lose information)")


def _wrong(got: str, target: str, how: str) -> str:
    detail = f" {how}" if how else ""
    return (
        f"has dtype {got}{detail} but the model's signature expects {target}; convert it "
        f"before predicting, e.g. .astype({target!r})"
    )


def _is_numeric(dtype: str) -> bool:
    return dtype.startswith(("float", "int", "uint", "bool"))


def _common_dtype(dtypes: Any) -> str:
    import numpy as np

    return str(np.result_type(*[np.dtype(d) for d in dtypes]))


def _records_to_columns(records: list[Any], names: list[str]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {}
    for name in names:
        try:
            columns[name] = [r[name] for r in records]
        except KeyError:
            row = next(i for i, r in enumerate(records) if name not in r)
            raise InvalidParameterError(
                f"input is missing column {name!r} (in row {row}); the model's signature "
                f"expects {_listing(names)}",
                column=name,
            ) from None
    return columns


def _check_rows(n: int) -> None:
    if n == 0:
        raise InvalidParameterError(
            "the input has no rows: pass at least one row to predict on", rows=0
        )


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 20 else "")


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("n" if d == -1 else str(d) for d in shape) + ")"


def _is_frame(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "dtypes")


def _is_series(data: Any) -> bool:
    return type(data).__name__ == "Series" and hasattr(data, "dtype")
