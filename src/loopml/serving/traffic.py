"""Which route answers a request: weighted random for a canary, a stable hash of a header for
an A/B test (the same user always lands on the same side, in every worker and after restarts).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Traffic", "bucket_of"]


def bucket_of(value: str) -> int:
    """A stable bucket 0-99 for ``value`` (BLAKE2b, not Python's salted ``hash``)."""
    digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


@dataclass(frozen=True)
class _Slot:
    upper: int  # exclusive cumulative weight
    target: Any


class Traffic:
    """Picks one of ``targets`` by ``weights`` (percents adding up to 100)."""

    def __init__(
        self, targets: list[Any], weights: list[int], sticky_header: str | None = None
    ) -> None:
        self._slots: list[_Slot] = []
        total = 0
        for target, weight in zip(targets, weights, strict=True):
            if weight > 0:
                total += weight
                self._slots.append(_Slot(total, target))
        self._total = total
        self.sticky_header = sticky_header.lower() if sticky_header else None
        self._random = random.Random()

    def pick(self, headers: Mapping[str, str]) -> Any:
        if len(self._slots) == 1:
            return self._slots[0].target
        key = headers.get(self.sticky_header) if self.sticky_header else None
        bucket = bucket_of(key) if key else self._random.randrange(100)
        bucket = bucket * self._total // 100
        for slot in self._slots:
            if bucket < slot.upper:
                return slot.target
        return self._slots[-1].target
