"""The wall clock every service reads: aware UTC times only.

One function instead of a `now()` per module, so a naive `datetime.now()` never slips in and a
test has one name to look for.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
