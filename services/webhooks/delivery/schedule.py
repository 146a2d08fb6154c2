"""What an attempt's outcome means for its delivery: done, retry when, or give up. Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Verdict(StrEnum):
    succeeded = "succeeded"
    retry = "retry"
    failed = "failed"  # the schedule is spent
    gone = "gone"  # 410: the receiver asks us to stop; the endpoint is disabled


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    delay_seconds: float | None = None  # for retry: from now


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from `now` a Retry-After header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def jittered(delay: float, jitter: float, rng: random.Random) -> float:
    return max(0.0, delay * (1 + rng.uniform(-jitter, jitter)))


def decide(
    *,
    status_code: int | None,
    retry_after: float | None,
    attempts_made: int,
    schedule: list[float],
    jitter: float,
    max_retry_after: float,
    rng: random.Random,
) -> Decision:
    """`attempts_made` counts this one; `schedule[i]` is the wait before attempt i + 1."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision(Verdict.succeeded)
    if status_code == 410:
        return Decision(Verdict.gone)
    if attempts_made >= len(schedule):
        return Decision(Verdict.failed)
    delay = jittered(schedule[attempts_made], jitter, rng)
    if status_code in (429, 503) and retry_after is not None:
        delay = min(retry_after, max_retry_after)
    return Decision(Verdict.retry, delay)
