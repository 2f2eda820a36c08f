"""Request bodies to model input, predictions to response bodies, for both protocols.

JSON is decoded with orjson and numeric rows go straight to numpy columns; a DataFrame is only
built later, by the model's input plan, when the model needs one. Anything a client can get
wrong raises :class:`InvalidParameterError` (a 400), never a bare ``ValueError``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from loopml.errors import InvalidParameterError

__all__ = [
    "V2_DTYPES",
    "decode_csv",
    "decode_invocations",
    "decode_json",
    "decode_v2",
    "dumps",
    "encode_predictions",
    "v2_outputs",
]

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")

V2_DTYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_NUMPY_TO_V2 = {v: k for k, v in V2_DTYPES.items()}


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameterError(f"the request body is not valid JSON: {exc}") from None


def decode_invocations(body: Any) -> Any:
    """MLflow's scoring protocol: exactly one of ``dataframe_split``, ``dataframe_records``,
    ``instances`` or ``inputs``; returns what an input plan accepts."""
    if not isinstance(body, dict):
        raise _mlflow_error("the body is not a JSON object")
    keys = [k for k in MLFLOW_KEYS if k in body]
    if len(keys) != 1:
        raise _mlflow_error(
            "it has none of them" if not keys else f"it has {len(keys)}: {', '.join(keys)}"
        )
    value = body[keys[0]]
    if keys[0] == "dataframe_split":
        return _split(value)
    if keys[0] == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise InvalidParameterError("dataframe_records must be a list of JSON objects")
        return value
    if isinstance(value, dict):  # {"inputs": {"col": [...], ...}}: named columns
        return {str(k): _column(k, v) for k, v in value.items()}
    if not isinstance(value, list):
        raise InvalidParameterError(f"{keys[0]} must be a list of rows or an object of columns")
    if value and isinstance(value[0], dict):
        return value
    return _array(value, keys[0])


def decode_csv(body: bytes) -> Any:
    """A CSV body with a header row, as MLflow accepts it (``Content-Type: text/csv``)."""
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidParameterError(f"the CSV body cannot be read: {exc}") from None
    return {str(c): frame[c].to_numpy() for c in frame.columns}


def decode_v2(body: Any, names: list[str] | None) -> Any:
    """Open Inference Protocol ``inputs``: one named tensor per column (``names`` given) or
    one tensor for a tensor model; a single 2-D tensor also feeds a numeric columns model."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise InvalidParameterError('the V2 body needs "inputs": a non-empty list of tensors')
    tensors = [_tensor(t) for t in inputs]
    if names is not None and not (len(tensors) == 1 and tensors[0][1].ndim == 2):
        columns: dict[str, Any] = {}
        for name, array in tensors:
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise InvalidParameterError(
                    f"input {name!r} has shape {list(array.shape)}: a column is one value per "
                    "row, shape [n] or [n, 1]",
                    column=name,
                )
            columns[name] = array
        return columns
    if len(tensors) != 1:
        raise InvalidParameterError(
            f"this model takes one input tensor, got {len(tensors)}",
            got=len(tensors),
        )
    return tensors[0][1]


def encode_predictions(result: Any) -> bytes:
    """``{"predictions": ...}`` as MLflow answers: arrays as lists, frames as records."""
    if _is_frame(result):
        result = result.to_dict(orient="records")
    elif _is_series(result):
        result = result.to_numpy()
    return _dumps({"predictions": result})


def v2_outputs(result: Any) -> list[dict[str, Any]]:
    """Predictions as V2 output tensors: one per frame column, else one named ``predict``."""
    if _is_frame(result):
        return [_out(str(c), result[c].to_numpy()) for c in result.columns]
    if _is_series(result):
        result = result.to_numpy()
    if isinstance(result, dict):
        return [_out(str(k), np.asarray(v)) for k, v in result.items()]
    return [_out("predict", np.asarray(result))]


def dumps(body: Any) -> bytes:
    return _dumps(body)


def _out(name: str, array: Any) -> dict[str, Any]:
    kind = _NUMPY_TO_V2.get(str(array.dtype), "BYTES")
    data = array.ravel() if kind != "BYTES" else [str(v) for v in array.ravel().tolist()]
    return {"name": name, "shape": list(array.shape), "datatype": kind, "data": data}


def _dumps(body: Any) -> bytes:
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY, default=_plain)
    except TypeError as exc:
        raise InvalidParameterError(
            f"the model's output cannot be written as JSON: {exc}"
        ) from None


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # non-contiguous or object arrays, numpy scalars
        return value.tolist()
    return str(value)


def _split(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or "data" not in value:
        raise InvalidParameterError('dataframe_split must be an object with "columns" and "data"')
    data, columns = value["data"], value.get("columns")
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise InvalidParameterError("dataframe_split.data must be a list of rows (lists)")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidParameterError("dataframe_split.columns must be a list of column names")
    if any(len(r) != len(columns) for r in data):
        raise InvalidParameterError(
            f"every row of dataframe_split.data needs {len(columns)} values, one per column"
        )
    if not data:
        return {c: np.empty(0) for c in columns}
    array = _try(lambda: np.asarray(data))
    if array is not None and array.ndim == 2 and array.dtype.kind in "biuf":
        return {c: array[:, i] for i, c in enumerate(columns)}  # all numbers: one conversion
    return {c: _column(c, list(v)) for c, v in zip(columns, zip(*data, strict=True), strict=True)}


def _column(name: Any, values: Any) -> Any:
    array = _try(lambda: np.asarray(values))
    if array is None or array.ndim > 1:
        raise InvalidParameterError(f"column {name!r} must be a list of plain values", column=name)
    if array.dtype.kind == "U":  # text stays Python objects, as pandas holds it
        array = array.astype(object)
    return array


def _array(rows: list[Any], key: str) -> Any:
    array = _try(lambda: np.asarray(rows))
    if array is None or array.dtype.kind not in "biufUO":
        raise InvalidParameterError(
            f"{key} must be rows of equal length (a list of lists), or a list of objects"
        )
    return array


def _tensor(spec: Any) -> tuple[str, Any]:
    if not isinstance(spec, dict):
        raise InvalidParameterError("every V2 input is an object with name, shape, datatype, data")
    name, shape, datatype, data = (spec.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise InvalidParameterError('a V2 input needs a "name"')
    if datatype not in V2_DTYPES:
        raise InvalidParameterError(
            f"input {name!r} has datatype {datatype!r}; use one of {', '.join(V2_DTYPES)}",
            column=name,
        )
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InvalidParameterError(
            f"input {name!r} needs a shape: a list of non-negative integers", column=name
        )
    if not isinstance(data, list):
        raise InvalidParameterError(f"input {name!r} needs its data as a list", column=name)
    dtype = V2_DTYPES[datatype]
    with np.errstate(over="raise", invalid="raise"):  # 1e300 as FP16 is an error, not inf
        array = _try(lambda: np.asarray(data, dtype=dtype))
    if array is None:
        raise InvalidParameterError(
            f"input {name!r}: the data are not all {datatype} values", column=name
        )
    size = int(np.prod(shape))
    if array.size != size:
        raise InvalidParameterError(
            f"input {name!r} has {array.size} values but shape {shape} holds {size}",
            column=name,
        )
    return name, array.reshape(shape)


def _try(make: Callable[[], Any]) -> Any:
    try:
        return make()
    except (ValueError, TypeError, OverflowError, FloatingPointError):
        return None


def _mlflow_error(why: str) -> InvalidParameterError:
    return InvalidParameterError(
        "the body must be a JSON object with exactly one of dataframe_split, "
        f"dataframe_records, instances or inputs; {why}"
    )


def _is_frame(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "dtypes")


def _is_series(data: Any) -> bool:
    return type(data).__name__ == "Series" and hasattr(data, "dtype")
