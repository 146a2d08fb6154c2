"""Assignment under concurrency, with PostgreSQL and Kafka: several routing consumers on the
multi-partition interactions topic and a burst larger than the team never push a member past
capacity; the queue moves when a case is resolved or a member comes online; a member going
away hands their cases on."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from services.routing.cases.models import Case, QueuedCase
from services.routing.cases.scheduler import CaseScheduler
from services.routing.handlers import build_intake, intake_handlers
from services.routing.models import Member, bus_tables
from shared.bus.admin import ensure_topics
from shared.bus.consumer import ConsumerRunner
from shared.bus.producer import EventProducer
from shared.db import create_engine, session_factory
from shared.events.topics import INTERACTIONS, all_topics
from tests.fixtures.services import migrated_database
from tests.routing.cases_support import (
    WRITER,
    Publisher,
    Routing,
    interaction,
    received,
    routing_settings,
    running_routing,
    seed_team,
    wait_for,
)

pytestmark = pytest.mark.integration

CONSUMERS = 3
MEMBERS = 3
CAPACITY = 4
BURST = 60


async def member_loads(routing: Routing, brand_id: str) -> dict[str, tuple[int, int, int]]:
    """name → (open_cases counter, active cases actually assigned, capacity)."""
    async with routing.sessions() as session:
        members = (await session.scalars(select(Member).where(Member.brand_id == brand_id))).all()
        result = {}
        for member in members:
            active = await session.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.assignee_id == member.id, Case.status.in_(("open", "pending")))
            )
            result[member.name] = (member.open_cases, int(active or 0), member.capacity)
    return result


@pytest.fixture(scope="module")
async def routing(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Routing]:
    database = await migrated_database(postgres_url, "routing")
    # The app serves the API and its scheduler; its own consumer is off, the test runs several.
    async with running_routing(database, kafka_bootstrap, consumers_enabled=False) as running:
        yield running


@contextlib.asynccontextmanager
async def consumers(routing: Routing, count: int) -> AsyncIterator[list[ConsumerRunner]]:
    """`count` routing intake consumers in one group, each with its own engine (as separate
    replicas would be), small polls so their transactions interleave."""
    await ensure_topics(routing.bootstrap, all_topics(), partitions=3)
    group = f"routing-cases-burst-{uuid.uuid4().hex[:8]}"
    settings = routing_settings(routing.database, routing.bootstrap)
    producer = EventProducer(routing.bootstrap, client_id="burst-test")
    await producer.start()
    engines = [create_engine(routing.database, schema="routing") for _ in range(count)]
    runners = [
        ConsumerRunner(
            name=f"{group}-{index}",
            bootstrap=routing.bootstrap,
            topics=[INTERACTIONS],
            group_id=group,
            handlers={},
            batch_handlers=intake_handlers(build_intake(settings)),
            sessions=session_factory(engine),
            tables=bus_tables,
            producer=producer,
            max_batch=4,
        )
        for index, engine in enumerate(engines)
    ]
    tasks = [asyncio.create_task(runner.run()) for runner in runners]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.ready.wait() for r in runners)), 60)
        yield runners
    finally:
        for runner in runners:
            runner.stop()
        await asyncio.wait(tasks, timeout=20)
        for engine in engines:
            await engine.dispose()
        await producer.stop()


async def test_burst_never_exceeds_capacity_and_the_queue_moves(
    routing: Routing, kafka_bootstrap: str
) -> None:
    brand_id = f"burst-{uuid.uuid4().hex[:8]}"
    team = await seed_team(
        routing.sessions,
        brand_id,
        [
            {"name": f"agent{index}", "departments": ["customer_service"], "capacity": CAPACITY}
            for index in range(MEMBERS)
        ]
        + [
            {
                "name": "late",
                "departments": ["customer_service"],
                "capacity": 2,
                "availability": "offline",
            }
        ],
    )
    # The scheduler would drain the queue while the burst lands; keep it for later.
    state = routing.runtime.state
    scheduler = getattr(state, "scheduler", None)
    assert isinstance(scheduler, CaseScheduler)
    scheduler.stop()
    if scheduler.task is not None:
        await asyncio.wait_for(scheduler.task, 10)
    items = [
        interaction(brand_id, f"Mi pedido {index} llegó roto y nadie responde")
        for index in range(BURST)
    ]
    async with consumers(routing, CONSUMERS) as runners, Publisher(kafka_bootstrap) as publisher:
        await publisher.send(*(received(item) for item in items))

        async def all_in() -> bool:
            async with routing.sessions() as session:
                count = await session.scalar(
                    select(func.count()).select_from(Case).where(Case.brand_id == brand_id)
                )
            return count == BURST

        await wait_for(all_in, within=90, what=f"{BURST} cases")
        partitions = {
            tp.partition
            for runner in runners
            if runner._consumer
            for tp in runner._consumer.assignment()
        }
        assert len(partitions) == 3

    loads = await member_loads(routing, brand_id)
    for name, (counter, active, capacity) in loads.items():
        assert counter == active, (name, loads)
        assert active <= capacity, (name, loads)
    assert sum(active for _, active, _ in loads.values()) == MEMBERS * CAPACITY
    assert loads["late"][1] == 0
    async with routing.sessions() as session:
        queued = await session.scalar(
            select(func.count()).select_from(QueuedCase).where(QueuedCase.brand_id == brand_id)
        )
    assert queued == BURST - MEMBERS * CAPACITY

    # A resolved case frees a place: the oldest queued case takes it at once.
    async with routing.sessions() as session:
        some = await session.scalar(
            select(Case)
            .where(Case.brand_id == brand_id, Case.assignee_id == team.members["agent0"])
            .limit(1)
        )
    assert some is not None
    response = await routing.client.patch(
        f"{routing.url}/v1/cases/{some.id}", json={"status": "resolved"}, auth=WRITER
    )
    assert response.status_code == 200, response.text
    loads = await member_loads(routing, brand_id)
    assert loads["agent0"][:2] == (CAPACITY, CAPACITY)

    # A member comes online: the scheduler's queue pass gives them what they can take.
    async with routing.sessions() as session, session.begin():
        await session.execute(
            update(Member).where(Member.id == team.members["late"]).values(availability="available")
        )
    helper = CaseScheduler(sessions=routing.sessions, tables=bus_tables, name=f"test-{brand_id}")
    done = await helper.run_once()
    assert done["queue"] == 2
    loads = await member_loads(routing, brand_id)
    assert loads["late"][:2] == (2, 2)

    # agent1 goes away: their cases go to whoever has room (nobody) → back to the queue.
    async with routing.sessions() as session, session.begin():
        await session.execute(
            update(Member).where(Member.id == team.members["agent1"]).values(availability="away")
        )
    done = await helper.run_once()
    assert done["absent"] == CAPACITY
    loads = await member_loads(routing, brand_id)
    assert loads["agent1"][:2] == (0, 0)
    for name, (counter, active, capacity) in loads.items():
        assert counter == active <= capacity, (name, loads)
    async with routing.sessions() as session:
        queued = await session.scalar(
            select(func.count()).select_from(QueuedCase).where(QueuedCase.brand_id == brand_id)
        )
    assert queued == BURST - MEMBERS * CAPACITY - 1 - 2 + CAPACITY
    await helper.release()
