"""Goals over real HTTP: CRUD, attainment and status, and goal alerts through the outbox when
a goal turns at risk and when it recovers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.kpi.goals.evaluation import GoalStatus, Period, judge, period_bounds
from shared.events.alerts import AlertRaised, AlertResolved
from shared.events.topics import ALERTS
from tests.fixtures.services import read_events
from tests.kpi import events
from tests.kpi.conftest import Kpi, as_key

pytestmark = pytest.mark.integration

WRITER = as_key("team:write", "kpis:read")
READER = as_key("kpis:read")


def test_periods_are_iso_weeks_and_calendar_months() -> None:
    now = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # a Thursday
    assert period_bounds(Period.week, now) == (
        datetime(2026, 11, 30, tzinfo=UTC),
        datetime(2026, 12, 7, tzinfo=UTC),
    )
    assert period_bounds(Period.month, now) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


def test_projection_and_status() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    end = datetime(2026, 12, 31, tzinfo=UTC)
    day10 = start + timedelta(days=10)
    # 400 shares in a third of the month project to 1,200: on track for 1,000, at risk for 1,500.
    assert judge("shares", 1000, 400, start=start, end=end, now=day10).status == GoalStatus.on_track
    judged = judge("shares", 1500, 400, start=start, end=end, now=day10)
    assert judged.status == GoalStatus.at_risk
    assert judged.projected == pytest.approx(1200)
    # Times and rates are projected as they stand.
    assert (
        judge("first_response_p90_seconds", 3600, 4000, start=start, end=end, now=day10).status
        == GoalStatus.at_risk
    )
    assert (
        judge("response_rate", 95, 97, start=start, end=end, now=day10).status
        == GoalStatus.on_track
    )
    # Once over, a miss is a miss; a total that must stay under its target is missed at once.
    assert judge("response_rate", 95, 90, start=start, end=end, now=end).status == GoalStatus.missed
    assert (
        judge("sentiment_negative", 10, 11, start=start, end=end, now=day10).status
        == GoalStatus.missed
    )
    assert (
        judge("net_sentiment", 20, None, start=start, end=end, now=day10).status
        == GoalStatus.on_track
    )


async def test_goal_crud_attainment_and_alerts(kpi: Kpi) -> None:
    brand = f"goal-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    week_start, _ = period_bounds(Period.week, now)
    opened = max(week_start, now - timedelta(hours=2))
    # One customer-service case answered in 2 hours this week: a p90 of 60 min is at risk.
    await kpi.publish(
        [
            events.case(
                f"{brand}-1",
                brand=brand,
                case_id=f"{brand}-c1",
                first_inbound_at=opened,
                opened_at=opened,
                occurred_at=opened,
            ),
            events.reply(
                f"{brand}-2",
                brand=brand,
                case_id=f"{brand}-c1",
                reply_id=f"{brand}-r1",
                sent_at=min(now, opened + timedelta(hours=2)),
            ),
        ]
    )

    async def folded() -> bool:
        response = await kpi.summary(
            READER,
            brand_id=brand,
            **{"from": week_start.isoformat(), "to": (now + timedelta(minutes=2)).isoformat()},
        )
        return bool(response.json()["groups"][0]["kpis"]["replies_sent"] == 1)

    await kpi.wait_for(folded)
    created = await kpi.client.post(
        f"{kpi.url}/v1/goals",
        json={
            "brand_id": brand,
            "department": "customer_service",
            "name": "Primera respuesta / First response",
            "metric": "first_response_p90_seconds",
            "target": 60,
            "period": "week",
        },
        auth=WRITER,
    )
    assert created.status_code == 201, created.text
    goal = created.json()
    assert goal["direction"] == "at_most"
    assert goal["attainment"]["status"] == "at_risk"
    assert goal["attainment"]["value"] > 60
    raised = await read_events(
        kpi.bootstrap,
        ALERTS,
        lambda e: e.type == "alert.raised" and getattr(e.data, "brand_id", None) == brand,
        1,
        key=brand,
    )
    alert = raised[0].data
    assert isinstance(alert, AlertRaised)
    assert alert.kind == "goal"
    assert alert.metric == "first_response_p90_seconds"
    assert "Objetivo en riesgo / Goal at risk" in alert.title

    listed = await kpi.client.get(f"{kpi.url}/v1/goals", params={"brand_id": brand}, auth=READER)
    assert [item["id"] for item in listed.json()["items"]] == [goal["id"]]
    hidden = await kpi.client.get(
        f"{kpi.url}/v1/goals/{goal['id']}", auth=as_key("kpis:read", departments=["pr"])
    )
    assert hidden.status_code == 404

    # Raising the target to 3 hours recovers it: the alert is resolved.
    changed = await kpi.client.patch(
        f"{kpi.url}/v1/goals/{goal['id']}", json={"target": 3 * 3600}, auth=WRITER
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["attainment"]["status"] == "on_track"
    resolved = await read_events(
        kpi.bootstrap,
        ALERTS,
        lambda e: e.type == "alert.resolved" and getattr(e.data, "brand_id", None) == brand,
        1,
        key=brand,
    )
    assert isinstance(resolved[0].data, AlertResolved)
    assert resolved[0].data.alert_id == alert.alert_id

    deleted = await kpi.client.delete(f"{kpi.url}/v1/goals/{goal['id']}", auth=WRITER)
    assert deleted.status_code == 204
    gone = await kpi.client.get(f"{kpi.url}/v1/goals/{goal['id']}", auth=READER)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metric": "happiness"}, "metric"),
        ({"period": "year"}, "period"),
        ({"target": "lots"}, "target"),
        ({"brand_id": ""}, "brand_id"),
    ],
)
async def test_bad_goals_are_422_naming_the_field(
    kpi: Kpi, body: dict[str, object], field: str
) -> None:
    valid = {"brand_id": "acme", "metric": "net_sentiment", "target": 20, "period": "month"}
    response = await kpi.client.post(f"{kpi.url}/v1/goals", json={**valid, **body}, auth=WRITER)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_department_limited_keys_set_goals_for_their_department_only(kpi: Kpi) -> None:
    limited = as_key("team:write", "kpis:read", departments=["pr"])
    valid = {"brand_id": "acme", "metric": "response_rate", "target": 95, "period": "month"}
    brand_wide = await kpi.client.post(f"{kpi.url}/v1/goals", json=valid, auth=limited)
    assert brand_wide.status_code == 403
    assert brand_wide.json()["field"] == "departments"
    other = await kpi.client.post(
        f"{kpi.url}/v1/goals", json={**valid, "department": "hr"}, auth=limited
    )
    assert other.status_code == 403
    own = await kpi.client.post(
        f"{kpi.url}/v1/goals", json={**valid, "department": "pr"}, auth=limited
    )
    assert own.status_code == 201, own.text
