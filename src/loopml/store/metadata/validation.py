"""Checks on names and values shared by every store, so the REST server enforces them too."""

from __future__ import annotations

import math
import numbers
from typing import Any

from loopml.errors import InvalidParameterError

MAX_KEY = 250
MAX_NAME = 250


def check_key(key: Any, what: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameterError(f"a {what} must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY:
        raise InvalidParameterError(f"{what} {key[:40]!r}... is longer than {MAX_KEY} characters")
    if "\x00" in key:
        raise InvalidParameterError(f"{what} {key!r} contains a NUL byte")
    return key


def check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME or "\x00" in name:
        raise InvalidParameterError(f"{what} {name[:40]!r} is too long or contains a NUL byte")
    return name


def check_metric_value(key: str, value: Any) -> float:
    """A metric is a real number; NaN and infinities are kept as they are."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy scalars are numbers.Real; strings, None and containers are not
        raise InvalidParameterError(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}",
            key=key,
        )
    return float(value)


def check_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidParameterError(f"a metric step must be an integer, got {step!r}")
    return int(step)


def param_text(value: Any) -> str:
    """Params are stored as text, the way a user would write them on a command line."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return repr(value)
    return str(value)
