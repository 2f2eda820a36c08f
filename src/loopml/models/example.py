"""The input example a package carries: Parquet for a DataFrame, JSON for anything else.

It documents the input in a form a person can open, seeds signature inference, and is what
``build_env`` predicts on to prove that a rebuilt environment works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from loopml.errors import InvalidParameterError

__all__ = ["read_example", "write_example"]


def write_example(example: Any, folder: Path) -> dict[str, str]:
    """Write ``example`` into ``folder``; returns its manifest entry (file and kind)."""
    import numpy as np

    if type(example).__name__ == "DataFrame":
        try:
            example.to_parquet(folder / "input_example.parquet", index=False)
            return {"file": "input_example.parquet", "kind": "frame"}
        except (ValueError, TypeError, ImportError):  # mixed object columns: fall back to JSON
            body: dict[str, Any] = {"kind": "frame", "data": example.to_dict("list")}
    elif isinstance(example, np.ndarray):
        body = {"kind": "ndarray", "dtype": str(example.dtype), "data": example.tolist()}
    elif isinstance(example, dict):
        body = {"kind": "columns", "data": {k: _plain(v) for k, v in example.items()}}
    elif isinstance(example, list):
        body = {"kind": "records" if example and isinstance(example[0], dict) else "list"}
        body["data"] = example
    else:
        raise InvalidParameterError(
            f"an input example is a DataFrame, numpy array, dict of columns or list, not "
            f"{type(example).__qualname__}"
        )
    try:
        data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:
        raise InvalidParameterError(f"the input example cannot be written as JSON: {exc}") from None
    (folder / "input_example.json").write_bytes(data)
    return {"file": "input_example.json", "kind": str(body["kind"])}


def read_example(folder: Path, entry: dict[str, str] | None) -> Any:
    if not entry:
        return None
    path = folder / entry["file"]
    if path.suffix == ".parquet":
        import pandas as pd

        return pd.read_parquet(path)
    body = orjson.loads(path.read_bytes())
    kind, data = body.get("kind"), body.get("data")
    if kind == "frame":
        import pandas as pd

        return pd.DataFrame(data)
    if kind == "ndarray":
        import numpy as np

        return np.asarray(data, dtype=body.get("dtype"))
    return data


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value
