"""SLA clocks of a case (pure): a policy's targets, the deadlines they give, when a case is at risk.

Three clocks, each measured in the department's business hours when the policy asks for it and
a calendar is known, else on the wall clock:

- first response: from the case's first inbound message (`opened_at`);
- next response: from the latest inbound message the brand has not answered (`last_inbound_at`);
- resolution: from `opened_at`.

A case is *at risk* once `at_risk_fraction` of a clock's target has passed (0.8: at 80%).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.business_hours import MAX_SEARCH_DAYS, BusinessCalendar, add_seconds
from shared.events.cases import Priority, SlaDeadlines, SlaKind

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaTargets:
    """A policy's targets in seconds (None: no target for that clock)."""

    first_response_seconds: int | None = None
    next_response_seconds: int | None = None
    resolution_seconds: int | None = None
    at_risk_fraction: float = 0.8
    business_hours: bool = False

    def __post_init__(self) -> None:
        for name in ("first_response_seconds", "next_response_seconds", "resolution_seconds"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value <= 0):
                raise ValueError(f"{name}: a target is a positive number of seconds")
        if not 0.0 < self.at_risk_fraction < 1.0:
            raise ValueError("at_risk_fraction: must be between 0 and 1 (exclusive), e.g. 0.8")

    def target(self, kind: SlaKind) -> int | None:
        return {
            SlaKind.first_response: self.first_response_seconds,
            SlaKind.next_response: self.next_response_seconds,
            SlaKind.resolution: self.resolution_seconds,
        }[kind]


# Defaults per priority, for a brand that has set no policy: urgent and high run on the wall
# clock (a crisis does not wait for Monday), normal and low in business hours.
DEFAULT_TARGETS: Mapping[Priority, SlaTargets] = {
    Priority.urgent: SlaTargets(
        first_response_seconds=15 * MINUTE,
        next_response_seconds=30 * MINUTE,
        resolution_seconds=4 * HOUR,
    ),
    Priority.high: SlaTargets(
        first_response_seconds=1 * HOUR,
        next_response_seconds=2 * HOUR,
        resolution_seconds=1 * DAY,
    ),
    Priority.normal: SlaTargets(
        first_response_seconds=4 * HOUR,
        next_response_seconds=8 * HOUR,
        resolution_seconds=3 * DAY,
        business_hours=True,
    ),
    Priority.low: SlaTargets(
        first_response_seconds=1 * DAY,
        next_response_seconds=1 * DAY,
        resolution_seconds=7 * DAY,
        business_hours=True,
    ),
}


def clock_start(kind: SlaKind, opened_at: datetime, last_inbound_at: datetime | None) -> datetime:
    """When a clock starts: the latest inbound message for next response, else `opened_at`."""
    if kind is SlaKind.next_response:
        return last_inbound_at if last_inbound_at is not None else opened_at
    return opened_at


def _calendar_for(
    targets: SlaTargets, calendar: BusinessCalendar | None
) -> BusinessCalendar | None:
    return calendar if targets.business_hours else None


def due_at(
    targets: SlaTargets,
    calendar: BusinessCalendar | None,
    kind: SlaKind,
    opened_at: datetime,
    last_inbound_at: datetime | None = None,
) -> datetime | None:
    """The deadline of one clock (None without a target)."""
    target = targets.target(kind)
    if target is None:
        return None
    start = clock_start(kind, opened_at, last_inbound_at)
    return add_seconds(_calendar_for(targets, calendar), start, target)


def deadlines(
    targets: SlaTargets,
    calendar: BusinessCalendar | None,
    opened_at: datetime,
    last_inbound_at: datetime | None = None,
    *,
    policy_id: str | None = None,
) -> SlaDeadlines:
    """Every clock's deadline, with the targets, as the case events carry them.

    The next-response deadline is only set when `last_inbound_at` is given (a message waits
    for an answer after the first one).
    """
    used = _calendar_for(targets, calendar)
    return SlaDeadlines(
        policy_id=policy_id,
        business_hours=used is not None,
        first_response_due_at=due_at(targets, calendar, SlaKind.first_response, opened_at),
        next_response_due_at=(
            None
            if last_inbound_at is None
            else due_at(targets, calendar, SlaKind.next_response, opened_at, last_inbound_at)
        ),
        resolution_due_at=due_at(targets, calendar, SlaKind.resolution, opened_at),
        first_response_target_seconds=targets.first_response_seconds,
        next_response_target_seconds=targets.next_response_seconds,
        resolution_target_seconds=targets.resolution_seconds,
    )


@dataclass(frozen=True, slots=True)
class RiskTime:
    kind: SlaKind
    at: datetime


def at_risk_times(
    targets: SlaTargets,
    calendar: BusinessCalendar | None,
    opened_at: datetime,
    last_inbound_at: datetime | None = None,
    *,
    kinds: Iterable[SlaKind] | None = None,
) -> list[RiskTime]:
    """When each clock in `kinds` (default: all with a target) reaches `at_risk_fraction` of its
    target, earliest first. Next response only counts when `last_inbound_at` is given."""
    chosen = list(SlaKind) if kinds is None else list(kinds)
    used = _calendar_for(targets, calendar)
    found = []
    for kind in chosen:
        target = targets.target(kind)
        if target is None or (kind is SlaKind.next_response and last_inbound_at is None):
            continue
        start = clock_start(kind, opened_at, last_inbound_at)
        found.append(RiskTime(kind, add_seconds(used, start, target * targets.at_risk_fraction)))
    return sorted(found, key=lambda risk: (risk.at, list(SlaKind).index(risk.kind)))


def at_risk_at(
    targets: SlaTargets,
    calendar: BusinessCalendar | None,
    opened_at: datetime,
    last_inbound_at: datetime | None = None,
    *,
    kinds: Iterable[SlaKind] | None = None,
) -> datetime | None:
    """The earliest moment one of the running clocks is at risk (None: no target)."""
    times = at_risk_times(targets, calendar, opened_at, last_inbound_at, kinds=kinds)
    return times[0].at if times else None


class _Timeline:
    """A calendar's openings in order from `first_day` on, with the open time before each: the
    instant `seconds` of open time after a start is then two binary searches, not a walk over
    every opening in between (a resolution target in business hours spans a week or more, and
    every new case wants six such instants)."""

    __slots__ = ("calendar", "first_day", "next_day", "starts", "ends", "before")

    def __init__(self, calendar: BusinessCalendar, first_day: date) -> None:
        self.calendar = calendar
        self.first_day = first_day
        self.next_day = first_day  # the first day not read yet
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.before: list[timedelta] = [timedelta()]  # open time before opening i (and all)

    def covers(self, day: date) -> bool:
        return self.first_day <= day and len(self.starts) < _TIMELINE_OPENINGS

    def extend(self, until: date) -> None:
        while self.next_day <= until:
            for start, end in self.calendar.openings_on(self.next_day):
                self.starts.append(start)
                self.ends.append(end)
                self.before.append(self.before[-1] + (end - start))
            self.next_day += timedelta(days=1)

    def add(self, start: datetime, seconds: Sequence[float]) -> list[datetime]:
        day = start.astimezone(self.calendar.zone).date()
        horizon = day + timedelta(days=MAX_SEARCH_DAYS - 2)  # as far as the walk looks
        self.extend(day + timedelta(days=1))
        # The first opening that ends after `start`, clipped to begin no earlier than it.
        first = bisect_right(self.ends, start)
        while first == len(self.ends) and self.next_day <= horizon:
            self.extend(self.next_day + timedelta(days=7))
            first = bisect_right(self.ends, start)
        if first == len(self.ends):
            raise ValueError("the calendar does not open again within the search horizon")
        base = self.before[first] + (max(self.starts[first], start) - self.starts[first])
        found = []
        for value in seconds:
            if value <= 0:
                found.append(start)
                continue
            wanted = base + timedelta(seconds=value)
            while self.before[-1] < wanted and self.next_day <= horizon:
                self.extend(self.next_day + timedelta(days=7))
            if self.before[-1] < wanted:
                raise ValueError("the calendar does not open again within the search horizon")
            # The opening in which the open time reaches `wanted` (ending exactly there
            # counts: the deadline is that opening's end, not the next one's start).
            index = bisect_left(self.before, wanted, lo=first + 1) - 1
            found.append(self.starts[index] + (wanted - self.before[index]))
        return found


# Timelines kept per calendar (equal calendars share one), and how many openings one may hold
# before it is read again from a later day: a few MB at most.
_TIMELINES: dict[BusinessCalendar, _Timeline] = {}
_TIMELINE_CALENDARS = 128
_TIMELINE_OPENINGS = 2_000


def add_seconds_many(
    calendar: BusinessCalendar | None, start: datetime, seconds: Sequence[float]
) -> list[datetime]:
    """`add_seconds(calendar, start, s)` for each `s` of `seconds` (the same instants), from the
    calendar's cached timeline of openings."""
    if calendar is None:
        return [add_seconds(None, start, value) for value in seconds]
    start = add_seconds(calendar, start, 0)  # refuses a naive start, as add_seconds does
    # The walk of `BusinessCalendar.add_business_seconds` starts the local day before.
    first_day = start.astimezone(calendar.zone).date() - timedelta(days=1)
    timeline = _TIMELINES.get(calendar)
    if timeline is None or not timeline.covers(first_day):
        if len(_TIMELINES) >= _TIMELINE_CALENDARS:
            _TIMELINES.clear()
        timeline = _TIMELINES[calendar] = _Timeline(calendar, first_day)
    return timeline.add(start, seconds)
