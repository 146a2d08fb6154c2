"""Business hours: validation, open/next open, adding and measuring open time, DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.business_hours import (
    BusinessCalendar,
    CalendarError,
    add_seconds,
    is_open,
    seconds_between,
)

MADRID = ZoneInfo("Europe/Madrid")
MEXICO = ZoneInfo("America/Mexico_City")
WEEKDAYS_9_TO_5 = {day: [("09:00", "17:00")] for day in range(5)}


def madrid(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


def office(zone: str = "Europe/Madrid", **kwargs: object) -> BusinessCalendar:
    return BusinessCalendar(zone, WEEKDAYS_9_TO_5, **kwargs)  # type: ignore[arg-type]


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "hours", "field"),
    [
        ("Mars/Olympus", WEEKDAYS_9_TO_5, "time_zone"),
        ("", WEEKDAYS_9_TO_5, "time_zone"),
        ("Europe/Madrid", {"monday": [("17:00", "09:00")]}, "weekly_hours.monday.0"),
        ("Europe/Madrid", {"monday": [("09:00", "09:00")]}, "weekly_hours.monday.0"),
        (
            "Europe/Madrid",
            {"tue": [("09:00", "13:00"), ("12:00", "18:00")]},
            "weekly_hours.tuesday",
        ),
        ("Europe/Madrid", {"funday": [("09:00", "13:00")]}, "weekly_hours"),
        ("Europe/Madrid", {7: [("09:00", "13:00")]}, "weekly_hours"),
        ("Europe/Madrid", {0: [("9am", "13:00")]}, "weekly_hours.monday.0"),
        ("Europe/Madrid", {}, "weekly_hours"),
        ("Europe/Madrid", {0: []}, "weekly_hours"),
        (
            "Europe/Madrid",
            {0: [("09:00", "13:00")], "monday": [("14:00", "15:00")]},
            "weekly_hours.monday",
        ),
    ],
)
def test_invalid_calendars_name_the_field(zone: str, hours: object, field: str) -> None:
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar(zone, hours)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_holidays_must_be_dates() -> None:
    with pytest.raises(CalendarError) as caught:
        office(holidays=[datetime(2026, 1, 1, tzinfo=UTC)])
    assert caught.value.field == "holidays"


def test_midnight_end_and_adjacent_openings_are_accepted() -> None:
    calendar = BusinessCalendar("UTC", {"sat": [("00:00", "12:00"), ("12:00", "24:00")]})
    saturday = datetime(2026, 12, 5, tzinfo=UTC)
    assert calendar.business_seconds_between(saturday, saturday + timedelta(days=2)) == 86400


def test_aware_datetimes_are_required() -> None:
    with pytest.raises(ValueError, match="aware"):
        office().is_open(datetime(2026, 12, 1, 10))


# -- open / next open --------------------------------------------------------------------------


def test_is_open_respects_hours_weekends_and_holidays() -> None:
    calendar = office(holidays=[date(2026, 12, 8)])
    assert calendar.is_open(madrid(2026, 12, 1, 9, 0))  # Tuesday, start is inside
    assert not calendar.is_open(madrid(2026, 12, 1, 17, 0))  # end is outside
    assert not calendar.is_open(madrid(2026, 12, 1, 8, 59))
    assert not calendar.is_open(madrid(2026, 12, 5, 12))  # Saturday
    assert not calendar.is_open(madrid(2026, 12, 8, 12))  # holiday
    # The same instant given in another zone.
    assert calendar.is_open(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))  # 09:30 in Madrid


def test_next_open_skips_nights_weekends_and_holidays() -> None:
    calendar = office(holidays=[date(2026, 12, 7)])
    assert calendar.next_open(madrid(2026, 12, 1, 10)) == madrid(2026, 12, 1, 10)
    assert calendar.next_open(madrid(2026, 12, 1, 18)) == madrid(2026, 12, 2, 9)
    # Friday evening → Monday is a holiday → Tuesday 09:00.
    assert calendar.next_open(madrid(2026, 12, 4, 17, 30)) == madrid(2026, 12, 8, 9)


def test_several_openings_a_day() -> None:
    calendar = BusinessCalendar("Europe/Madrid", {0: [(time(9), time(14)), (time(16), time(19))]})
    monday = madrid(2026, 11, 30, 13)
    assert calendar.next_open(madrid(2026, 11, 30, 15)) == madrid(2026, 11, 30, 16)
    # 1 h left in the morning, then 2 h from 16:00.
    assert calendar.add_business_seconds(monday, 3 * 3600) == madrid(2026, 11, 30, 18)
    assert (
        calendar.business_seconds_between(madrid(2026, 11, 30, 8), madrid(2026, 12, 1)) == 8 * 3600
    )


# -- adding and measuring ----------------------------------------------------------------------


def test_add_business_seconds_carries_over_nights_and_weekends() -> None:
    calendar = office()
    friday_4pm = madrid(2026, 12, 4, 16)
    assert calendar.add_business_seconds(friday_4pm, 2 * 3600) == madrid(2026, 12, 7, 10)
    # Running out exactly at the close ends there, not at the next opening.
    assert calendar.add_business_seconds(friday_4pm, 3600) == madrid(2026, 12, 4, 17)
    # From outside hours the clock starts at the next opening.
    assert calendar.add_business_seconds(madrid(2026, 12, 5, 3), 60) == madrid(2026, 12, 7, 9, 1)
    assert calendar.add_business_seconds(friday_4pm, 0) == friday_4pm


def test_between_is_signed() -> None:
    calendar = office()
    a, b = madrid(2026, 12, 1, 10), madrid(2026, 12, 2, 10)
    assert calendar.business_seconds_between(a, b) == 8 * 3600
    assert calendar.business_seconds_between(b, a) == -8 * 3600


def test_wall_clock_without_calendar() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=MADRID)
    assert is_open(None, start)
    assert add_seconds(None, start, 3600) == start + timedelta(hours=1)
    assert seconds_between(None, start, start + timedelta(minutes=5)) == 300
    calendar = office()
    assert add_seconds(calendar, madrid(2026, 12, 4, 16), 7200) == madrid(2026, 12, 7, 10)
    assert seconds_between(calendar, madrid(2026, 12, 1, 10), madrid(2026, 12, 1, 11)) == 3600


# -- DST ---------------------------------------------------------------------------------------


def test_madrid_spring_forward_night_shift_is_an_hour_shorter() -> None:
    # 2026-03-29: at 02:00 CET the clocks jump to 03:00 CEST.
    night = BusinessCalendar("Europe/Madrid", {"sunday": [("00:00", "04:00")]})
    sunday = madrid(2026, 3, 29)
    assert night.business_seconds_between(sunday, madrid(2026, 3, 30)) == 3 * 3600
    # 02:30 does not exist: a start there is the real instant after the gap.
    gap = BusinessCalendar("Europe/Madrid", {"sunday": [("02:30", "05:00")]})
    assert gap.next_open(sunday) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert gap.business_seconds_between(sunday, madrid(2026, 3, 30)) == 1.5 * 3600


def test_madrid_fall_back_night_shift_is_an_hour_longer() -> None:
    # 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET.
    night = BusinessCalendar("Europe/Madrid", {"sunday": [("00:00", "04:00")]})
    sunday = madrid(2026, 10, 25)
    assert night.business_seconds_between(sunday, madrid(2026, 10, 26)) == 5 * 3600
    # 4 h of work from midnight ends at 03:00 CET (the second 02:00-03:00 counted).
    assert night.add_business_seconds(sunday, 4 * 3600) == datetime(2026, 10, 25, 2, tzinfo=UTC)


def test_office_day_across_a_dst_change_keeps_its_length() -> None:
    calendar = office()
    friday, monday = madrid(2026, 3, 27, 12), madrid(2026, 3, 30, 12)
    assert calendar.business_seconds_between(friday, monday) == 8 * 3600
    # Friday 09:00 is 08:00 UTC; Monday 09:00 is 07:00 UTC.
    assert calendar.next_open(madrid(2026, 3, 27, 20)) == datetime(2026, 3, 30, 7, tzinfo=UTC)


def test_mexico_city_transitions() -> None:
    # Mexico City observed DST until 2022: 2021-04-04 02:00 → 03:00, 2021-10-31 02:00 → 01:00.
    night = BusinessCalendar("America/Mexico_City", {"sunday": [("00:00", "06:00")]})
    spring, fall = datetime(2021, 4, 4, tzinfo=MEXICO), datetime(2021, 10, 31, tzinfo=MEXICO)
    assert night.business_seconds_between(spring, spring + timedelta(days=1)) == 5 * 3600
    assert night.business_seconds_between(fall, fall + timedelta(days=1)) == 7 * 3600
    # Since 2023 there are no changes: an ordinary Sunday is 6 h.
    ordinary = datetime(2023, 4, 2, tzinfo=MEXICO)
    assert night.business_seconds_between(ordinary, ordinary + timedelta(days=1)) == 6 * 3600
    day = BusinessCalendar("America/Mexico_City", WEEKDAYS_9_TO_5)
    # Friday 2021-04-02 09:00 CST = 15:00 UTC; Monday 2021-04-05 09:00 CDT = 14:00 UTC.
    assert day.next_open(datetime(2021, 4, 2, 18, tzinfo=MEXICO)) == datetime(
        2021, 4, 5, 14, tzinfo=UTC
    )


# -- properties --------------------------------------------------------------------------------

ZONES = ["Europe/Madrid", "America/Mexico_City", "UTC", "America/New_York", "Asia/Kolkata"]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
openings = st.lists(
    st.tuples(st.integers(0, 47), st.integers(1, 48)).filter(lambda pair: pair[0] < pair[1]),
    min_size=1,
    max_size=3,
)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly: dict[int, list[tuple[str, str]]] = {}
    for day in draw(st.sets(st.integers(0, 6), min_size=1)):
        spans = sorted(draw(openings))
        merged: list[tuple[int, int]] = []
        for start, end in spans:  # drop overlaps so the calendar is valid
            if merged and start < merged[-1][1]:
                continue
            merged.append((start, end))

        def hhmm(half_hours: int) -> str:
            return (
                "24:00"
                if half_hours == 48
                else f"{half_hours // 2:02d}:{30 * (half_hours % 2):02d}"
            )

        weekly[day] = [(hhmm(s), hhmm(e)) for s, e in merged]
    holidays = draw(st.lists(st.dates(date(2020, 1, 1), date(2029, 1, 31)), max_size=20))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), weekly, holidays)


@settings(max_examples=80, deadline=None)
@given(calendars(), instants, st.floats(min_value=1, max_value=5 * 86400, allow_nan=False))
def test_add_then_between_round_trips(
    calendar: BusinessCalendar, start: datetime, seconds: float
) -> None:
    end = calendar.add_business_seconds(start, seconds)
    assert end >= start
    assert calendar.business_seconds_between(start, end) == pytest.approx(seconds, abs=1e-3)
    # The deadline falls inside an opening or at its end, never in closed time after it.
    assert calendar.is_open(end - timedelta(microseconds=1))


@settings(max_examples=80, deadline=None)
@given(calendars(), instants, st.timedeltas(timedelta(0), timedelta(days=60)))
def test_between_is_additive_and_bounded(
    calendar: BusinessCalendar, a: datetime, span: timedelta
) -> None:
    b = a + span
    middle = a + (b - a) / 2
    total = calendar.business_seconds_between(a, b)
    assert 0 <= total <= (b - a).total_seconds()
    assert total == pytest.approx(
        calendar.business_seconds_between(a, middle) + calendar.business_seconds_between(middle, b),
        abs=1e-3,
    )


@settings(max_examples=80, deadline=None)
@given(calendars(), instants)
def test_next_open_is_open_and_nothing_before_it_is(
    calendar: BusinessCalendar, at: datetime
) -> None:
    opens = calendar.next_open(at)
    assert opens >= at
    assert calendar.is_open(opens)
    assert calendar.business_seconds_between(at, opens) == 0
