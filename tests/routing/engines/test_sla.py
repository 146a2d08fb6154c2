"""SLA deadlines and at-risk times, on the wall clock and in business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.routing.sla import (
    DEFAULT_TARGETS,
    SlaTargets,
    at_risk_at,
    at_risk_times,
    deadlines,
    due_at,
)
from shared.business_hours import BusinessCalendar
from shared.events.cases import Priority, SlaDeadlines, SlaKind

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = BusinessCalendar("Europe/Madrid", {d: [("09:00", "17:00")] for d in range(5)})
FRIDAY_4PM = datetime(2026, 12, 4, 16, tzinfo=MADRID)


def test_wall_clock_deadlines() -> None:
    targets = SlaTargets(
        first_response_seconds=900, next_response_seconds=1800, resolution_seconds=3600
    )
    opened = datetime(2026, 12, 5, 3, tzinfo=UTC)
    result = deadlines(targets, OFFICE, opened, opened + timedelta(minutes=10), policy_id="p1")
    assert isinstance(result, SlaDeadlines)
    assert result.policy_id == "p1"
    assert not result.business_hours  # the policy runs on the wall clock even with a calendar
    assert result.first_response_due_at == opened + timedelta(minutes=15)
    assert result.next_response_due_at == opened + timedelta(minutes=40)
    assert result.resolution_due_at == opened + timedelta(hours=1)
    assert result.first_response_target_seconds == 900
    assert result.resolution_target_seconds == 3600


def test_business_hours_deadlines_skip_the_weekend() -> None:
    targets = SlaTargets(
        first_response_seconds=2 * 3600, resolution_seconds=8 * 3600, business_hours=True
    )
    result = deadlines(targets, OFFICE, FRIDAY_4PM)
    assert result.business_hours
    assert result.first_response_due_at == datetime(2026, 12, 7, 10, tzinfo=MADRID)
    assert result.resolution_due_at == datetime(2026, 12, 7, 16, tzinfo=MADRID)
    assert result.next_response_due_at is None  # no message waiting after the first
    assert result.next_response_target_seconds is None


def test_business_hours_without_a_calendar_is_the_wall_clock() -> None:
    targets = SlaTargets(first_response_seconds=3600, business_hours=True)
    result = deadlines(targets, None, FRIDAY_4PM)
    assert not result.business_hours
    assert result.first_response_due_at == FRIDAY_4PM + timedelta(hours=1)


def test_at_risk_at_a_fraction_of_the_target() -> None:
    targets = SlaTargets(
        first_response_seconds=1000, resolution_seconds=10_000, at_risk_fraction=0.8
    )
    opened = datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert at_risk_at(targets, None, opened) == opened + timedelta(seconds=800)
    times = at_risk_times(targets, None, opened)
    assert [t.kind for t in times] == [SlaKind.first_response, SlaKind.resolution]
    # Once the first response is sent, the scheduler asks only about the clocks still running.
    assert at_risk_at(targets, None, opened, kinds=[SlaKind.resolution]) == opened + timedelta(
        seconds=8000
    )
    assert at_risk_at(SlaTargets(), None, opened) is None


def test_at_risk_in_business_hours() -> None:
    targets = SlaTargets(first_response_seconds=3600, at_risk_fraction=0.5, business_hours=True)
    assert at_risk_at(targets, OFFICE, FRIDAY_4PM) == datetime(2026, 12, 4, 16, 30, tzinfo=MADRID)
    late = datetime(2026, 12, 4, 16, 45, tzinfo=MADRID)
    # 15 min on Friday, 15 more on Monday morning.
    assert at_risk_at(targets, OFFICE, late) == datetime(2026, 12, 7, 9, 15, tzinfo=MADRID)


def test_next_response_runs_from_the_latest_inbound_message() -> None:
    targets = SlaTargets(next_response_seconds=600)
    opened = datetime(2026, 12, 1, 10, tzinfo=UTC)
    later = opened + timedelta(hours=3)
    assert due_at(targets, None, SlaKind.next_response, opened, later) == later + timedelta(
        minutes=10
    )
    assert at_risk_at(targets, None, opened) is None  # nothing waiting yet
    assert at_risk_at(targets, None, opened, later) == later + timedelta(seconds=480)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"first_response_seconds": 0}, "first_response_seconds"),
        ({"resolution_seconds": -5}, "resolution_seconds"),
        ({"at_risk_fraction": 1.0}, "at_risk_fraction"),
        ({"at_risk_fraction": 0.0}, "at_risk_fraction"),
    ],
)
def test_targets_that_make_no_sense(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SlaTargets(**kwargs)  # type: ignore[arg-type]


def test_default_targets_get_stricter_with_priority() -> None:
    order = [Priority.low, Priority.normal, Priority.high, Priority.urgent]
    firsts = [DEFAULT_TARGETS[p].first_response_seconds or 0 for p in order]
    assert firsts == sorted(firsts, reverse=True)
    assert not DEFAULT_TARGETS[Priority.urgent].business_hours
    assert set(DEFAULT_TARGETS) == set(Priority)
