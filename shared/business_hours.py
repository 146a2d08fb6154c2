"""Business hours: a weekly timetable in an IANA time zone, with holidays, and time measured in it.

Routing's SLA clocks and member working hours, and kpi's "first response in business hours",
count time only while a calendar is open. Everything is computed on aware datetimes: each
opening is turned into its real instants through the zone (`zoneinfo`), so a day on which the
clocks change is as long as it really is (a 09:00-17:00 shift is 8 hours on either side of a
transition; a 00:00-04:00 shift is 3 or 5 hours on the nights the clocks jump). A local time
that does not exist (inside a spring-forward gap) is moved forward by the gap's length (02:30
becomes 03:30 when the clocks jump from 02:00 to 03:00); an ambiguous one (fall-back) is its
first occurrence.

`calendar=None` means wall-clock time: always open, seconds are seconds (`is_open`,
`add_seconds`, `seconds_between` at module level take a calendar or None).

Written here rather than taken from a library: the business-hours packages on PyPI either
ignore time zones, count in naive local time (wrong across DST changes) or do not take more
than one opening per day; this is a few dozen lines over `zoneinfo`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# How far ahead `next_open` / `add_business_seconds` look (holidays are finite, so only a tiny
# weekly opening and a huge amount of time get there) before giving up with a ValueError.
MAX_SEARCH_DAYS = 366 * 20

Opening = tuple[time, time]


class CalendarError(ValueError):
    """A calendar that makes no sense; `field` names the part at fault (`weekly_hours.monday.0`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _weekday_index(key: int | str) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        lowered = key.strip().lower()
        for index, name in enumerate(WEEKDAYS):
            if lowered in (name, name[:3]):
                return index
    raise CalendarError("weekly_hours", f"unknown weekday {key!r}; use monday..sunday or 0..6")


def parse_time(value: time | str, field: str) -> time:
    """`time` or 'HH:MM[:SS]'; '24:00' is the end of the day (returned as time(0))."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise CalendarError(field, "give a local time without a time zone")
        return value
    if isinstance(value, str):
        if value.strip() == "24:00":
            return time(0)
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(field, f"{value!r} is not a time of day (HH:MM)")


def _seconds_of(value: time, *, end: bool) -> int:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return 86400 if end and seconds == 0 and value.microsecond == 0 else seconds


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone)")
    return value


class BusinessCalendar:
    """Weekly opening hours (local times, several openings a day) in `time_zone`, with holidays.

    `weekly_hours` maps a weekday (0 = Monday .. 6, or 'monday' / 'mon') to its openings as
    (start, end) pairs of `time` or 'HH:MM' strings; an end of time(0) or '24:00' is midnight.
    Openings may not overlap, each ends after it starts, and some day must have one.
    Raises CalendarError (a ValueError) naming the field.
    """

    __slots__ = ("time_zone", "zone", "weekly", "holidays", "_days")

    def __init__(
        self,
        time_zone: str,
        weekly_hours: Mapping[Any, Sequence[tuple[time | str, time | str]]],
        holidays: Iterable[date] = (),
    ) -> None:
        try:
            self.zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise CalendarError("time_zone", f"{time_zone!r} is not an IANA time zone") from None
        self.time_zone = time_zone
        weekly: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
        seen: set[int] = set()
        for key, openings in weekly_hours.items():
            index = _weekday_index(key)
            name = WEEKDAYS[index]
            if index in seen:
                raise CalendarError(f"weekly_hours.{name}", "the weekday is given twice")
            seen.add(index)
            spans: list[tuple[int, int]] = []
            for position, opening in enumerate(openings):
                field = f"weekly_hours.{name}.{position}"
                if len(opening) != 2:
                    raise CalendarError(field, "an opening is a (start, end) pair")
                start = _seconds_of(parse_time(opening[0], field), end=False)
                end = _seconds_of(parse_time(opening[1], field), end=True)
                if end <= start:
                    raise CalendarError(field, "the end must be after the start")
                spans.append((start, end))
            spans.sort()
            for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
                if s2 < e1:
                    raise CalendarError(f"weekly_hours.{name}", "openings overlap")
            weekly[index] = spans
        if not any(weekly):
            raise CalendarError("weekly_hours", "at least one weekday needs opening hours")
        self.weekly: tuple[tuple[tuple[int, int], ...], ...] = tuple(tuple(d) for d in weekly)
        checked: set[date] = set()
        for holiday in holidays:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise CalendarError("holidays", f"{holiday!r} is not a date")
            checked.add(holiday)
        self.holidays: frozenset[date] = frozenset(checked)
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.time_zone!r}, {len(self.holidays)} holidays)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return (self.time_zone, self.weekly, self.holidays) == (
            other.time_zone,
            other.weekly,
            other.holidays,
        )

    def __hash__(self) -> int:
        return hash((self.time_zone, self.weekly, self.holidays))

    # -- openings as UTC instants ------------------------------------------------------------

    def _instant(self, day: date, seconds: int) -> datetime:
        if seconds >= 86400:
            day, seconds = day + timedelta(days=1), seconds - 86400
        local = datetime(day.year, day.month, day.day, tzinfo=self.zone) + timedelta(
            seconds=seconds
        )
        # Adding a timedelta to an aware datetime is wall-clock arithmetic; the round trip
        # through UTC settles a time inside a gap onto the real instant after it.
        return local.astimezone(UTC)

    def openings_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The openings of local `day` as (start, end) UTC instants (cached per day)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        spans: tuple[tuple[datetime, datetime], ...] = ()
        if day not in self.holidays:
            found = []
            for start, end in self.weekly[day.weekday()]:
                first, last = self._instant(day, start), self._instant(day, end)
                if last > first:
                    found.append((first, last))
            spans = tuple(found)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = spans
        return spans

    def _openings_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Openings that end after `at`, in order, clipped to start no earlier than `at`."""
        day = at.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_SEARCH_DAYS):
            for start, end in self.openings_on(day):
                if end > at:
                    yield max(start, at), end
            day += timedelta(days=1)

    # -- queries ---------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at = _aware(at, "at")
        day = at.astimezone(self.zone).date()
        return any(start <= at < end for start, end in self.openings_on(day))

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the start of the next opening (UTC)."""
        at = _aware(at, "at")
        for start, _end in self._openings_from(at):
            return start if start > at else at
        raise ValueError("the calendar does not open again within the search horizon")

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` of open time have passed since `start` (UTC).

        With `seconds` <= 0 it is `start` itself. Ends at the end of an opening rather than the
        start of the next when the time runs out exactly there.
        """
        start = _aware(start, "start")
        if seconds <= 0:
            return start
        remaining = timedelta(seconds=seconds)
        for first, last in self._openings_from(start):
            span = last - first
            if remaining <= span:
                return first + remaining
            remaining -= span
        raise ValueError("the calendar does not open again within the search horizon")

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Open seconds from `a` to `b` (negative when `b` is before `a`)."""
        a, b = _aware(a, "a"), _aware(b, "b")
        if b < a:
            return -self.business_seconds_between(b, a)
        total = timedelta()
        for first, last in self._openings_from(a):
            if first >= b:
                break
            total += min(last, b) - first
        return total.total_seconds()


def is_open(calendar: BusinessCalendar | None, at: datetime) -> bool:
    """Open at `at`; always with no calendar (wall clock)."""
    return True if calendar is None else calendar.is_open(at)


def add_seconds(calendar: BusinessCalendar | None, start: datetime, seconds: float) -> datetime:
    """`start` plus `seconds` of open time, or of wall-clock time with no calendar."""
    if calendar is None:
        return _aware(start, "start") + timedelta(seconds=max(seconds, 0))
    return calendar.add_business_seconds(start, seconds)


def seconds_between(calendar: BusinessCalendar | None, a: datetime, b: datetime) -> float:
    """Open seconds from `a` to `b`, or wall-clock seconds with no calendar."""
    if calendar is None:
        return (_aware(b, "b") - _aware(a, "a")).total_seconds()
    return calendar.business_seconds_between(a, b)
