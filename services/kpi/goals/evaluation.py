"""Goal status and projection. Pure.

- The period is the ISO week (Monday 00:00 UTC) or the calendar month (UTC) containing `now`.
- projection for the period: totals that grow with time (volumes, counts) extrapolate linearly
  from the elapsed part; times, rates and shares are projected as they stand (their value so far
  is the best estimate of the period's).
- status: `missed` once the period is over and the value misses the target, or earlier when a
  total that may only stay under its target has already passed it; `at_risk` when the
  projection misses; else `on_track` (also with no data yet: nothing has been missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.kpi.metrics.definitions import METRICS, Direction


class Period(StrEnum):
    week = "week"
    month = "month"


class GoalStatus(StrEnum):
    on_track = "on_track"
    at_risk = "at_risk"
    missed = "missed"


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.week:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def meets(direction: Direction, target: float, value: float | None) -> bool:
    if value is None:
        return False
    return value <= target if direction == Direction.at_most else value >= target


@dataclass(frozen=True)
class Judgement:
    value: float | None
    projected: float | None
    attainment: float | None  # percent of the target reached (100 = on target; more = better)
    status: GoalStatus


def judge(
    metric: str,
    target: float,
    value: float | None,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Judgement:
    info = METRICS[metric]
    over = now >= end
    elapsed = min(max((now - start).total_seconds(), 0.0), (end - start).total_seconds())
    projected = value
    if value is not None and info.additive and not over and elapsed > 0:
        projected = value * (end - start).total_seconds() / elapsed
    attainment = _attainment(info.direction, target, value)
    if value is None:
        status = GoalStatus.missed if over else GoalStatus.on_track
    elif over:
        status = GoalStatus.on_track if meets(info.direction, target, value) else GoalStatus.missed
    elif info.additive and info.direction == Direction.at_most and value > target:
        status = GoalStatus.missed
    else:
        on_track = meets(info.direction, target, projected)
        status = GoalStatus.on_track if on_track else GoalStatus.at_risk
    return Judgement(value, projected, attainment, status)


def _attainment(direction: Direction, target: float, value: float | None) -> float | None:
    if value is None:
        return None
    if direction == Direction.at_least:
        return value / target * 100 if target else None
    if value == 0:
        return None if target == 0 else 100.0 * 10
    return target / value * 100
