"""Crisis alerts (as kpi publishes them on `socialcare.alerts`) escalate the brand's matching
open cases to PR, urgent, with approval; other alerts and other cases stay as they were."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.routing.cases.models import Case
from shared.events.alerts import AlertKind, AlertRaised, AlertSeverity
from shared.events.envelope import Envelope
from shared.events.topics import ALERTS, CASES
from tests.fixtures.services import migrated_database, read_events
from tests.routing.cases_support import (
    Publisher,
    Routing,
    case_event,
    interaction,
    is_case,
    open_case,
    running_routing,
    seed_team,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def routing(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Routing]:
    database = await migrated_database(postgres_url, "routing")
    async with running_routing(database, kafka_bootstrap) as running:
        yield running


def alert(brand_id: str, kind: AlertKind, **values: list[str]) -> Envelope:
    now = datetime.now(UTC)
    data = AlertRaised(
        alert_id=str(uuid.uuid4()),
        brand_id=brand_id,
        kind=kind,
        severity=AlertSeverity.critical,
        title="Pico de menciones negativas / Negative mentions spike",
        window_start=now - timedelta(minutes=10),
        window_end=now,
        raised_at=now,
        **values,
    )
    return Envelope(type="alert.raised", source="socialcare/kpi", key=brand_id, data=data)


async def test_crisis_alert_escalates_matching_open_cases(
    routing: Routing, kafka_bootstrap: str
) -> None:
    brand_id = f"crisis-{uuid.uuid4().hex[:8]}"
    team = await seed_team(
        routing.sessions,
        brand_id,
        [
            {"name": "ana", "departments": ["customer_service"]},
            {"name": "pilar", "departments": ["pr"]},
        ],
    )
    burnt = await open_case(
        routing, interaction(brand_id, "El cargador que compré no funciona y nadie me responde")
    )
    assert (burnt.department, burnt.priority) == ("customer_service", "normal")
    other = await open_case(routing, interaction(brand_id, "Mi pedido llegó roto y nadie responde"))
    assert other.department == "customer_service"
    async with Publisher(kafka_bootstrap) as publisher:
        await publisher.send(alert(brand_id, AlertKind.goal, keywords=["pedido"]), topic=ALERTS)
        await publisher.send(alert(brand_id, AlertKind.crisis, keywords=["CARGADOR"]), topic=ALERTS)

    async def escalated() -> Case | None:
        async with routing.sessions() as session:
            case = await session.get(Case, burnt.id, populate_existing=True)
        return (
            case
            if case is not None and case.priority == "urgent" and case.requires_approval
            else None
        )

    case = await wait_for(escalated, what="the escalated case")
    assert case.department == "pr"
    assert case.assignee_id == team.members["pilar"]
    assert "crisis" in case.tags
    async with routing.sessions() as session:
        untouched = await session.scalar(select(Case).where(Case.id == other.id))
    assert untouched is not None
    assert (untouched.department, untouched.priority, untouched.requires_approval) == (
        "customer_service",
        other.priority,
        False,
    )
    events = await read_events(
        routing.bootstrap, CASES, is_case(burnt.id), 1, key=burnt.thread_key, drain=True
    )
    escalation = [case_event(e) for e in events if e.type == "case.escalated"]
    assert len(escalation) == 1
    assert escalation[0].priority == "urgent"
    assert escalation[0].requires_approval is True
    # A second crisis alert about the same case changes nothing more.
    async with Publisher(kafka_bootstrap) as publisher:
        await publisher.send(
            alert(brand_id, AlertKind.crisis, thread_keys=[burnt.thread_key]), topic=ALERTS
        )
    events = await read_events(
        routing.bootstrap, CASES, is_case(burnt.id), 1, key=burnt.thread_key, drain=True
    )
    assert [e.type for e in events].count("case.escalated") == 1
