"""Token buckets by key (API key, webhook connection, client address): a steady rate per minute
with a burst of the same size, in bounded memory.

Keys can come from the network (a connection id in a webhook path, a client address), so the
buckets live in an LRU of at most `max_keys`: a flood of distinct keys evicts the least recently
used bucket, which only ever hands that key a fresh (full) bucket, never a stricter one.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str, per_minute: int, current: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(per_minute), updated=current)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            rate = per_minute / 60.0
            bucket.tokens = min(
                float(per_minute), bucket.tokens + (current - bucket.updated) * rate
            )
            bucket.updated = current
        return bucket

    def acquire(self, key: str, per_minute: int, *, now: float | None = None) -> int | None:
        """Take one token; return None when allowed, else the seconds to wait (Retry-After)."""
        current = time.monotonic() if now is None else now
        bucket = self._refilled(key, per_minute, current)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / (per_minute / 60.0)))

    def exhausted(self, key: str, per_minute: int, *, now: float | None = None) -> int | None:
        """Like `acquire` without taking a token: the seconds to wait, or None when one is left."""
        if key not in self._buckets:
            return None
        current = time.monotonic() if now is None else now
        bucket = self._refilled(key, per_minute, current)
        if bucket.tokens >= 1.0:
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / (per_minute / 60.0)))
