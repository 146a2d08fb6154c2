"""Reassignment with PostgreSQL and Kafka: an assignee who does not act within the SLA
policy's `reassign_after_minutes` loses the case to someone else of the department, exactly once
whatever the number of schedulers; one who replied (or set the case pending) keeps it; with
nobody else to take it the case stays, tried once; an assignee who goes offline hands on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.routing.cases.models import Case, CaseHistory
from services.routing.cases.scheduler import CaseScheduler
from services.routing.models import Member, bus_tables
from shared.auth import Principal, PrincipalAuth
from shared.db import create_engine, session_factory
from shared.events.topics import CASES
from tests.fixtures.services import migrated_database, read_events
from tests.routing.cases_support import (
    SECRET,
    Routing,
    Team,
    case_event,
    interaction,
    is_case,
    open_case,
    running_routing,
    seed_team,
)

pytestmark = pytest.mark.integration

LEAD = PrincipalAuth(
    Principal(key_id="lead", scopes=frozenset({"team:write", "cases:read"})), SECRET, "routing"
)
MINUTES = 30


@pytest.fixture(scope="module")
async def routing(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Routing]:
    database = await migrated_database(postgres_url, "routing")
    # The test runs the scheduler's passes itself, at the moments it chooses.
    async with running_routing(
        database, kafka_bootstrap, consumers_enabled=False, case_scheduler_enabled=False
    ) as running:
        yield running


async def team_with_policy(routing: Routing, names: list[str]) -> tuple[Team, str]:
    brand_id = f"brand-{uuid.uuid4().hex[:10]}"
    connection = str(uuid.uuid4())
    team = await seed_team(
        routing.sessions,
        brand_id,
        [{"name": name, "departments": ["customer_service"], "capacity": 5} for name in names],
        connection_id=connection,
    )
    for priority in ("urgent", "high", "normal", "low"):
        response = await routing.client.post(
            f"{routing.url}/v1/sla-policies",
            json={
                "brand_id": brand_id,
                "department": "customer_service",
                "priority": priority,
                "first_response_seconds": 4 * 3600,
                "business_hours": False,
                "reassign_after_minutes": MINUTES,
            },
            auth=LEAD,
        )
        assert response.status_code == 201, response.text
        assert response.json()["reassign_after_minutes"] == MINUTES
    return team, connection


async def assigned_case(routing: Routing, team: Team, connection: str) -> Case:
    item = interaction(
        team.brand_id,
        "Hola, ¿me ayudan a cambiar la dirección de entrega?",
        connection_id=connection,
    )
    case = await open_case(routing, item)
    async with routing.sessions() as session:
        fresh = await session.get(Case, case.id)
    assert fresh is not None
    assert fresh.department == "customer_service", fresh.intent
    assert fresh.assignee_id is not None, "the case was not assigned"
    assert fresh.sla_policy_id is not None
    return fresh


async def reload(routing: Routing, case_id: str) -> Case:
    async with routing.sessions() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    return case


async def history(routing: Routing, case_id: str, action: str) -> list[CaseHistory]:
    async with routing.sessions() as session:
        rows = await session.scalars(
            select(CaseHistory).where(CaseHistory.case_id == case_id, CaseHistory.action == action)
        )
        return list(rows.all())


async def open_cases(routing: Routing, member_id: str) -> int:
    async with routing.sessions() as session:
        member = await session.get(Member, member_id)
    assert member is not None
    return member.open_cases


def scheduler(routing: Routing, name: str) -> CaseScheduler:
    return CaseScheduler(sessions=routing.sessions, tables=bus_tables, name=name)


async def test_idle_assignee_loses_the_case_exactly_once(routing: Routing) -> None:
    team, connection = await team_with_policy(routing, ["ana", "bruno"])
    case = await assigned_case(routing, team, connection)
    first = case.assignee_id
    assert first is not None
    other = next(member for member in team.members.values() if member != first)
    assigned_at = case.assigned_at
    assert assigned_at is not None

    early = scheduler(routing, f"idle-{team.brand_id}")
    assert await early.idle_pass(assigned_at + timedelta(minutes=MINUTES - 1)) == 0
    assert (await reload(routing, case.id)).assignee_id == first

    # Two schedulers (two replicas, each with its own engine) at once, past the deadline: the
    # case moves once.
    engines = [create_engine(routing.database, schema="routing") for _ in range(2)]
    try:
        replicas = [
            CaseScheduler(sessions=session_factory(engine), tables=bus_tables, name="idle-test")
            for engine in engines
        ]
        late = assigned_at + timedelta(minutes=MINUTES + 1)
        moved = await asyncio.gather(*(replica.idle_pass(late) for replica in replicas))
        assert sorted(moved) == [0, 1]
        # And again, as the next passes would be: nothing more to do.
        assert sum(await asyncio.gather(*(r.idle_pass(late) for r in replicas))) == 0
    finally:
        for engine in engines:
            await engine.dispose()

    after = await reload(routing, case.id)
    assert after.assignee_id == other
    assert after.assigned_at == late
    assert await open_cases(routing, first) == 0
    assert await open_cases(routing, other) == 1
    (unassigned,) = await history(routing, case.id, "unassigned")
    assert unassigned.changes == {"assignee_id": [first, None]}
    assert "30 min" in (unassigned.note or "")
    routing.runtime.notify_outbox()
    events = await read_events(
        routing.bootstrap, CASES, is_case(case.id), 2, key=case.thread_key, drain=True
    )
    reassigned = [
        case_event(e)
        for e in events
        if e.type == "case.assigned"
        if case_event(e).previous_assignee_id == first
    ]
    assert len(reassigned) == 1
    assert reassigned[0].assignee_id == other

    # The new assignee has a window of their own from the moment they got it.
    assert await early.idle_pass(late + timedelta(minutes=MINUTES - 1)) == 0
    assert await early.idle_pass(late + timedelta(minutes=MINUTES + 1)) == 1
    assert (await reload(routing, case.id)).assignee_id == first


async def test_an_assignee_who_acted_keeps_the_case(routing: Routing) -> None:
    team, connection = await team_with_policy(routing, ["carla", "dario"])
    replied = await assigned_case(routing, team, connection)
    pending = await assigned_case(routing, team, connection)
    assert replied.assigned_at is not None
    async with routing.sessions() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == replied.id)
            .values(last_response_at=replied.assigned_at + timedelta(minutes=5))
        )
        await session.execute(update(Case).where(Case.id == pending.id).values(status="pending"))
    later = max(replied.assigned_at, pending.assigned_at or replied.assigned_at)
    done = await scheduler(routing, f"acted-{team.brand_id}").idle_pass(
        later + timedelta(minutes=MINUTES * 3)
    )
    assert done == 0
    assert (await reload(routing, replied.id)).assignee_id == replied.assignee_id
    assert (await reload(routing, pending.id)).assignee_id == pending.assignee_id


async def test_nobody_else_the_case_stays_and_is_tried_once(routing: Routing) -> None:
    team, connection = await team_with_policy(routing, ["elena"])
    case = await assigned_case(routing, team, connection)
    assert case.assigned_at is not None
    helper = scheduler(routing, f"alone-{team.brand_id}")
    late = case.assigned_at + timedelta(minutes=MINUTES + 1)
    assert await helper.idle_pass(late) == 0
    assert await helper.idle_pass(late + timedelta(minutes=5)) == 0
    after = await reload(routing, case.id)
    assert after.assignee_id == case.assignee_id
    assert after.reassign_attempted_at == late
    assert len(await history(routing, case.id, "reassign_skipped")) == 1


async def test_an_assignee_going_offline_hands_the_case_on(routing: Routing) -> None:
    team, connection = await team_with_policy(routing, ["fran", "gema"])
    case = await assigned_case(routing, team, connection)
    first = case.assignee_id
    other = next(member for member in team.members.values() if member != first)
    response = await routing.client.put(
        f"{routing.url}/v1/members/{first}/availability",
        json={"availability": "offline"},
        auth=LEAD,
    )
    assert response.status_code == 200, response.text
    helper = scheduler(routing, f"offline-{team.brand_id}")
    done = await helper.run_once()
    await helper.release()
    assert done["absent"] == 1
    after = await reload(routing, case.id)
    assert after.assignee_id == other
    assert await open_cases(routing, str(first)) == 0
    (unassigned,) = await history(routing, case.id, "unassigned")
    assert unassigned.note == "assignee offline"
