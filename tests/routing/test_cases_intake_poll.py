"""One poll of the case intake at a time (`CaseIntake.take_in` in one transaction, as the
consumer runner calls it), on PostgreSQL and on SQLite: the poll's cases are written in bulk
once every decision is made, so what one poll holds (duplicates, an update before its received,
a thread twice, more cases than the team can take) must come out as one case per thread with
every message, its assignee or its queue row, and one `case.opened` per case."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.routing.cases.intake import CaseIntake
from services.routing.cases.models import Case, CaseMessage, QueuedCase
from services.routing.handlers import build_intake
from services.routing.models import Member, bus_tables
from shared.db import create_engine, session_factory
from shared.events.envelope import Envelope
from shared.migrations import upgrade
from tests.fixtures.services import migrated_database
from tests.routing.cases_support import interaction, received, routing_settings, seed_team

pytestmark = pytest.mark.integration

# Every default department, so whichever the classifier picks, ana can take the case.
DEPARTMENTS = ["marketing", "customer_service", "sales", "pr", "corporate_comms", "hr", "legal"]


@pytest.fixture(params=["postgresql", "sqlite"], scope="module")
async def sessions(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "postgresql":
        database = await migrated_database(postgres_url, "routing")
    else:
        path = Path(tmp_path_factory.mktemp("routing")) / "routing.db"
        database = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(upgrade, "routing", database)
    engine = create_engine(database, schema="routing")
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def intake() -> CaseIntake:
    return build_intake(routing_settings("sqlite+aiosqlite://", "127.0.0.1:9"))


async def take_poll(
    sessions: async_sessionmaker[AsyncSession], intake: CaseIntake, envelopes: list[Envelope]
) -> None:
    async with sessions() as session, session.begin():
        await intake.take_in(session, envelopes)


async def cases_of(sessions: async_sessionmaker[AsyncSession], thread_key: str) -> list[Case]:
    async with sessions() as session:
        return list(
            (await session.scalars(select(Case).where(Case.thread_key == thread_key))).all()
        )


async def messages_of(sessions: async_sessionmaker[AsyncSession], case_id: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(CaseMessage.interaction_id)
            .where(CaseMessage.case_id == case_id)
            .order_by(CaseMessage.created_at)
        )
        return [row for row in rows if row is not None]


async def events_of(sessions: async_sessionmaker[AsyncSession], thread_key: str) -> list[str]:
    """The types of the events staged for the thread, in the order they will be published."""
    outbox = bus_tables.outbox
    async with sessions() as session:
        rows = await session.execute(
            select(outbox.c.headers).where(outbox.c.key == thread_key).order_by(outbox.c.id)
        )
        return [dict(headers)["ce_type"] for (headers,) in rows]


async def open_cases(sessions: async_sessionmaker[AsyncSession], member_id: str) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(select(Member.open_cases).where(Member.id == member_id)) or 0
        )


async def test_duplicates_and_an_early_update_in_one_poll_open_one_case(
    sessions: async_sessionmaker[AsyncSession], intake: CaseIntake
) -> None:
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    team = await seed_team(sessions, brand_id, [{"name": "ana", "departments": DEPARTMENTS}])
    first = interaction(
        brand_id,
        "El producto llegó roto, quiero una solución",
        created_at=datetime.now(UTC) - timedelta(minutes=10),
    )
    later = interaction(
        brand_id,
        "¿Hola? Sigo sin respuesta",
        thread=first.thread_external_id,
        created_at=first.created_at + timedelta(minutes=5),
    )
    envelope = received(first)
    # The later message's update before any received, the same event twice, the same
    # interaction under another event id, then the later message's received: one poll.
    await take_poll(
        sessions,
        intake,
        [
            received(later, "interaction.updated"),
            envelope,
            envelope,
            received(first),
            received(later),
        ],
    )
    cases = await cases_of(sessions, first.thread_key)
    assert len(cases) == 1
    case = cases[0]
    assert case.message_count == 2
    assert case.first_inbound_at == first.created_at
    assert case.last_inbound_at == later.created_at
    assert sorted(await messages_of(sessions, case.id)) == sorted([first.id, later.id])
    assert case.assignee_id == team.members["ana"]
    assert await open_cases(sessions, team.members["ana"]) == 1
    staged = await events_of(sessions, first.thread_key)
    assert staged.count("case.opened") == 1
    assert staged.count("case.assigned") == 1

    # The whole poll again (a replay after a crash): nothing new.
    await take_poll(sessions, intake, [received(later), received(first)])
    again = await cases_of(sessions, first.thread_key)
    assert [(c.id, c.message_count, c.version) for c in again] == [(case.id, 2, case.version)]
    assert await events_of(sessions, first.thread_key) == staged
    assert await open_cases(sessions, team.members["ana"]) == 1


async def test_a_thread_twice_in_one_poll_and_a_burst_past_capacity(
    sessions: async_sessionmaker[AsyncSession], intake: CaseIntake
) -> None:
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    team = await seed_team(
        sessions, brand_id, [{"name": "ana", "departments": DEPARTMENTS, "capacity": 2}]
    )
    now = datetime.now(UTC)
    texts = [
        "Mi pedido no ha llegado",
        "Quiero devolver mi pedido, llegó roto",
        "La app no funciona desde ayer",
        "My order never arrived",
    ]
    threads = [
        interaction(brand_id, text, created_at=now - timedelta(minutes=index))
        for index, text in enumerate(texts)
    ]
    follow_up = interaction(
        brand_id, "¿Alguien me puede ayudar?", thread=threads[0].thread_external_id
    )
    # The first thread's follow-up comes in the same poll as its opening message.
    await take_poll(sessions, intake, [received(item) for item in [*threads, follow_up]])

    found = [await cases_of(sessions, item.thread_key) for item in threads]
    assert [len(cases) for cases in found] == [1, 1, 1, 1]
    first = found[0][0]
    assert first.message_count == 2
    assert sorted(await messages_of(sessions, first.id)) == sorted([threads[0].id, follow_up.id])
    # Capacity 2: the first two cases in the poll's order are assigned, the rest wait.
    cases = [cases[0] for cases in found]
    assert [case.assignee_id for case in cases] == [team.members["ana"]] * 2 + [None] * 2
    assert await open_cases(sessions, team.members["ana"]) == 2
    async with sessions() as session:
        queued = set(
            (
                await session.scalars(
                    select(QueuedCase.case_id).where(QueuedCase.brand_id == brand_id)
                )
            ).all()
        )
    assert queued == {cases[2].id, cases[3].id}
    # What the events say of the first case is what is stored: opened, routed, the follow-up
    # appended, assigned, each a snapshot of that moment.
    outbox = bus_tables.outbox
    async with sessions() as session:
        values = (
            await session.scalars(
                select(outbox.c.value).where(outbox.c.key == first.thread_key).order_by(outbox.c.id)
            )
        ).all()
    snapshots = [json.loads(value) for value in values]
    assert await events_of(sessions, first.thread_key) == [
        "case.opened",
        "case.routed",
        "case.updated",
        "case.assigned",
    ]
    assert [item["message_count"] for item in snapshots] == [1, 1, 2, 2]
    assert snapshots[-1]["assignee_id"] == first.assignee_id
    assert {item["case_id"] for item in snapshots} == {first.id}
