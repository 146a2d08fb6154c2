"""Per-key token buckets: a steady rate per minute with a burst of the same size."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str, per_minute: int, *, now: float | None = None) -> int | None:
        """Take one token; return None when allowed, else the seconds to wait (Retry-After)."""
        current = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(per_minute), updated=current)
        bucket.tokens = min(float(per_minute), bucket.tokens + (current - bucket.updated) * rate)
        bucket.updated = current
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))
