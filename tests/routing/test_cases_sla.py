"""SLA clocks with PostgreSQL and Kafka: deadlines from the brand's policy, recomputed when the
priority changes; at risk, then breached exactly once with two schedulers running side by side
and a restart between passes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.routing.cases.models import Case
from services.routing.cases.scheduler import CaseScheduler
from services.routing.models import SlaPolicy, bus_tables
from services.routing.team.repository import bump_config_version
from shared.events.cases import SlaKind
from shared.events.topics import CASES
from tests.fixtures.services import migrated_database, read_events
from tests.routing.cases_support import (
    ADMIN,
    Routing,
    case_event,
    interaction,
    is_case,
    open_case,
    running_routing,
    seed_team,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def routing(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Routing]:
    database = await migrated_database(postgres_url, "routing")
    # The app's own scheduler is off: the test drives two of its own at chosen moments.
    async with running_routing(database, kafka_bootstrap, case_scheduler_enabled=False) as running:
        yield running


async def test_breach_reported_once_with_two_schedulers(routing: Routing) -> None:
    brand_id = f"sla-{uuid.uuid4().hex[:8]}"
    team = await seed_team(
        routing.sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}]
    )
    async with routing.sessions() as session, session.begin():
        session.add(
            SlaPolicy(
                id=str(uuid.uuid4()),
                brand_id=brand_id,
                department_id=team.departments["customer_service"],
                priority="normal",
                first_response_seconds=60,
                next_response_seconds=None,
                resolution_seconds=None,
                business_hours=False,
            )
        )
        await bump_config_version(session, brand_id)
    case = await open_case(routing, interaction(brand_id, "Mi pedido llegó roto y nadie responde"))
    assert case.first_response_target_seconds == 60
    assert case.first_response_due_at == case.first_inbound_at + timedelta(seconds=60)
    assert case.resolution_due_at is None

    first = CaseScheduler(sessions=routing.sessions, tables=bus_tables, name=f"sla-{brand_id}")
    second = CaseScheduler(sessions=routing.sessions, tables=bus_tables, name=f"sla-{brand_id}")
    start = case.first_inbound_at
    # At 50 s of 60 (past 80 %): at risk. Only one of the two holds the lease.
    results = await asyncio.gather(
        first.run_once(start + timedelta(seconds=50)),
        second.run_once(start + timedelta(seconds=50)),
    )
    assert sorted(bool(result) for result in results) == [False, True]
    async with routing.sessions() as session:
        stored = await session.get(Case, case.id)
    assert stored is not None
    assert stored.first_response_at_risk_at is not None
    assert stored.first_response_breached_at is None
    listed = await routing.client.get(
        f"{routing.url}/v1/cases", params={"brand_id": brand_id, "sla": "at_risk"}, auth=ADMIN
    )
    assert [item["id"] for item in listed.json()["items"]] == [case.id]

    # Past the deadline, repeatedly, while the lease changes hands (a "restart").
    late = start + timedelta(seconds=61)
    await asyncio.gather(first.run_once(late), second.run_once(late))
    await first.release()
    await asyncio.gather(second.run_once(late + timedelta(seconds=1)), first.run_once(late))
    await second.release()
    restarted = CaseScheduler(sessions=routing.sessions, tables=bus_tables, name=f"sla-{brand_id}")
    await restarted.run_once(late + timedelta(seconds=5))
    await restarted.release()
    await first.release()
    routing.runtime.notify_outbox()

    events = await read_events(
        routing.bootstrap, CASES, is_case(case.id), 5, key=case.thread_key, drain=True, within=15
    )
    types = [event.type for event in events]
    assert types.count("case.sla_breached") == 1, types
    breach = case_event(next(e for e in events if e.type == "case.sla_breached"))
    assert breach.sla_kind is SlaKind.first_response
    at_risk = [case_event(e) for e in events if e.type == "case.updated"]
    assert [e.changed for e in at_risk] == [["sla.first_response_at_risk"]]
    detail = await routing.client.get(f"{routing.url}/v1/cases/{case.id}", auth=ADMIN)
    clock = detail.json()["sla"]["first_response"]
    assert (clock["breached"], clock["at_risk"]) == (True, False)
    breached = await routing.client.get(
        f"{routing.url}/v1/cases", params={"brand_id": brand_id, "sla": "breached"}, auth=ADMIN
    )
    assert [item["id"] for item in breached.json()["items"]] == [case.id]


async def test_priority_change_recomputes_deadlines(routing: Routing) -> None:
    brand_id = f"sla-{uuid.uuid4().hex[:8]}"
    await seed_team(
        routing.sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}]
    )
    case = await open_case(routing, interaction(brand_id, "Mi pedido llegó roto y nadie responde"))
    before = case.first_response_due_at
    assert before is not None
    response = await routing.client.patch(
        f"{routing.url}/v1/cases/{case.id}", json={"priority": "urgent"}, auth=ADMIN
    )
    assert response.status_code == 200, response.text
    after = response.json()["sla"]["first_response"]
    # Default urgent target: 15 minutes on the wall clock.
    assert after["target_seconds"] == 15 * 60
    async with routing.sessions() as session:
        stored = await session.scalar(select(Case).where(Case.id == case.id))
    assert stored is not None
    assert stored.first_response_due_at == stored.first_inbound_at + timedelta(minutes=15)
    assert stored.first_response_due_at != before
