"""First and next response times in business hours, as kpi folds them from the figures routing
puts on `reply.sent` (routing knows the department calendars; kpi knows none); the reply
contract stays readable without them. Pure: no broker, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.kpi.facts.models import CaseFact, ReplyFact
from services.kpi.facts.service import business_milliseconds
from services.kpi.metrics.definitions import Totals, compute
from services.kpi.rollups.contributions import IdeaCounted, case_entries, idea_entries
from services.kpi.rollups.measures import Delta
from shared.business_hours import BusinessCalendar
from shared.events.replies import ReplyEvent

WEEKDAYS = {day: [("09:00", "18:00")] for day in range(5)}
OFFICE = BusinessCalendar("Europe/Madrid", WEEKDAYS)
FRIDAY_EVENING = datetime(2026, 11, 13, 18, 0, tzinfo=UTC)  # 19:00 in Madrid
MONDAY_MORNING = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # 10:00 in Madrid


def case(case_id: str, asked_at: datetime) -> CaseFact:
    return CaseFact(
        case_id=case_id,
        brand_id="acme",
        channel="x",
        department="customer_service",
        assignee_id="m-1",
        intent="complaint",
        first_inbound_at=asked_at,
        opened_at=asked_at,
    )


def reply(
    case_id: str, sent_at: datetime, *, business: float | None, answers: datetime | None = None
) -> ReplyFact:
    return ReplyFact(
        reply_id=f"{case_id}-{sent_at.isoformat()}",
        case_id=case_id,
        brand_id="acme",
        channel="x",
        department="customer_service",
        author_id="m-1",
        sent_at=sent_at,
        answers_inbound_at=answers,
        first_inbound_business_ms=business_milliseconds(business),
        answers_inbound_business_ms=(
            business_milliseconds(OFFICE.business_seconds_between(answers, sent_at))
            if answers is not None and business is not None
            else None
        ),
    )


def kpis_of(*cases: tuple[CaseFact, list[ReplyFact]]) -> dict[str, float | int | None]:
    delta = Delta()
    for fact, replies in cases:
        delta.add(case_entries(fact, replies))
    totals = Totals()
    for (granularity, _bucket, _dimensions), row in delta.rows.items():
        if granularity == "d":
            totals.add_measures(dict(zip(totals.measures, row, strict=True)))
    for (granularity, _bucket, _dimensions, metric, bin_index), count in delta.sketches.items():
        if granularity == "d":
            totals.add_bin(metric, bin_index, count)
    return compute(totals)


def test_a_case_answered_over_a_weekend_is_one_business_hour() -> None:
    business = OFFICE.business_seconds_between(FRIDAY_EVENING, MONDAY_MORNING)
    assert business == 3600
    answered = case("c1", FRIDAY_EVENING)
    kpis = kpis_of((answered, [reply("c1", MONDAY_MORNING, business=business)]))
    assert kpis["first_response_mean_seconds"] == 63 * 3600
    assert kpis["first_response_business_count"] == 1
    assert kpis["first_response_business_mean_seconds"] == 3600
    assert kpis["first_response_business_median_seconds"] == pytest.approx(3600, rel=0.01)
    assert kpis["first_response_business_p90_seconds"] == pytest.approx(3600, rel=0.01)


def test_next_response_in_business_hours_and_cases_without_the_figure() -> None:
    asked_again = MONDAY_MORNING + timedelta(hours=8)  # Monday 18:00 in Madrid: closing time
    answered_again = asked_again + timedelta(hours=16)  # Tuesday 10:00: one business hour
    with_figures = case("c1", FRIDAY_EVENING)
    replies = [
        reply("c1", MONDAY_MORNING, business=3600),
        reply("c1", answered_again, business=3600 * 10, answers=asked_again),
    ]
    older = case("c2", FRIDAY_EVENING)  # answered by a routing that did not measure it
    kpis = kpis_of((with_figures, replies), (older, [reply("c2", MONDAY_MORNING, business=None)]))
    assert kpis["first_response_count"] == 2
    assert kpis["first_response_business_count"] == 1
    assert kpis["first_response_business_mean_seconds"] == 3600
    assert kpis["next_response_mean_seconds"] == 16 * 3600
    assert kpis["next_response_business_count"] == 1
    assert kpis["next_response_business_mean_seconds"] == 3600


def test_the_first_reply_by_time_gives_the_first_response_whatever_its_order() -> None:
    answered = case("c1", FRIDAY_EVENING)
    later = reply("c1", MONDAY_MORNING + timedelta(hours=2), business=3 * 3600)
    first = reply("c1", MONDAY_MORNING, business=3600)
    kpis = kpis_of((answered, [later, first]))
    assert kpis["first_response_business_mean_seconds"] == 3600


def test_reply_events_without_business_figures_still_parse() -> None:
    older = {
        "reply_id": "r1",
        "case_id": "c1",
        "brand_id": "acme",
        "thread_key": "acme:x:t1",
        "channel": "x",
        "sent_at": "2026-11-16T09:00:00Z",
        "occurred_at": "2026-11-16T09:00:01Z",
    }
    event = ReplyEvent.model_validate(older)
    assert event.first_inbound_business_seconds is None
    assert event.answers_inbound_business_seconds is None
    with pytest.raises(ValidationError):
        ReplyEvent.model_validate({**older, "first_inbound_business_seconds": -1})


def test_an_idea_counts_once_under_its_channel_and_intent() -> None:
    idea = IdeaCounted("acme", "instagram", FRIDAY_EVENING)
    [entry] = idea_entries(idea)
    assert entry.dimensions == ("acme", "instagram", "", "", "feedback_idea")
    assert entry.measures == {"ideas_collected": 1}
    assert idea_entries(None) == []


def test_resolution_in_business_hours_where_routing_measured_it() -> None:
    resolved_at = MONDAY_MORNING + timedelta(hours=2)  # Monday 12:00 in Madrid
    measured = case("c1", FRIDAY_EVENING)
    measured.resolved_at = resolved_at
    measured.resolution_business_ms = business_milliseconds(
        OFFICE.business_seconds_between(FRIDAY_EVENING, resolved_at)
    )
    older = case("c2", FRIDAY_EVENING)
    older.resolved_at = resolved_at
    kpis = kpis_of((measured, []), (older, []))
    assert kpis["cases_resolved"] == 2
    assert kpis["resolution_mean_seconds"] == 65 * 3600
    assert kpis["resolution_business_count"] == 1
    assert kpis["resolution_business_mean_seconds"] == 3 * 3600
    assert kpis["resolution_business_p90_seconds"] == pytest.approx(3 * 3600, rel=0.01)
