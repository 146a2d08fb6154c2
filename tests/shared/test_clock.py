"""The shared clock gives aware UTC times, never naive local ones."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

from shared.clock import utc_now


def test_utc_now_is_aware_utc_and_current() -> None:
    moment = utc_now()
    assert moment.tzinfo is UTC
    assert moment.utcoffset() == timedelta(0)
    assert abs(moment.timestamp() - time.time()) < 5
