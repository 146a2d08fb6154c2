"""The gateway's rate limits use the shared token buckets (`shared.rate_limit`)."""

from __future__ import annotations

from shared.rate_limit import RateLimiter

__all__ = ["RateLimiter"]
