"""A database failure in the middle of a poll's fold (facts written, rollups half written)
loses nothing and counts nothing twice: the consumer runner rolls the poll's transaction back
and folds it again, and the rollups equal their rebuild from the facts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts import repository as fact_repository
from services.kpi.facts.handlers import FACT_HANDLERS
from services.kpi.facts.models import InteractionFact
from services.kpi.models import bus_tables
from services.kpi.rollups.rebuild import rebuild
from shared.bus.admin import ensure_topics
from shared.bus.consumer import ConsumerRunner, RetryPolicy
from shared.bus.producer import EventProducer
from shared.db import create_engine, session_factory
from shared.events.topics import INTERACTIONS
from tests.fixtures.services import migrated_database
from tests.kpi import events
from tests.kpi.folding import read_rollups

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)  # the events cross an hour and a day
COUNT = 300


async def test_a_failure_after_part_of_a_polls_writes_folds_it_once(
    postgres_url: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = await migrated_database(postgres_url, "kpi")
    engine = create_engine(database, schema="kpi")
    sessions = session_factory(engine)
    brand = f"retry-{uuid.uuid4().hex[:8]}"
    topic = f"{INTERACTIONS}.test-{brand}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=3, replication_factor=1)

    real_insert = fact_repository.insert_new_interactions_counted
    failures = 0

    async def failing_once(session: AsyncSession, parameters: Any) -> set[str]:
        # The poll's facts and their rollups are written (one statement on PostgreSQL), then
        # the database refuses the next statement: the transaction holds both when it fails.
        nonlocal failures
        inserted = await real_insert(session, parameters)
        if failures == 0 and inserted:
            failures += 1
            await session.execute(text("SELECT 1 / 0"))
        return inserted

    monkeypatch.setattr(fact_repository, "insert_new_interactions_counted", failing_once)

    labels = ["positive", "neutral", "negative"]
    envelopes = [
        events.interaction(
            None,
            brand=brand,
            interaction_id=f"{brand}-{index}",
            channel=["x", "facebook", "instagram"][index % 3],
            created_at=START + timedelta(seconds=7 * index),
            time=START + timedelta(hours=1),
            label=labels[index % 3],
            thread_id=str(index % 7),
        )
        for index in range(COUNT)
    ]
    producer = EventProducer(kafka_bootstrap, client_id=f"test-{brand}")
    await producer.start()
    await producer.send_many([(topic, *envelope.to_kafka()) for envelope in envelopes])
    runner = ConsumerRunner(
        name=f"test-{brand}",
        bootstrap=kafka_bootstrap,
        topics=[topic],
        group_id=f"test-{brand}",
        handlers={},
        batch_handlers=FACT_HANDLERS,
        sessions=sessions,
        tables=bus_tables,
        producer=producer,
        retry=RetryPolicy(attempts=3, initial_backoff=0.01),
        max_batch=1000,
    )
    task = asyncio.create_task(runner.run())

    async def facts() -> int:
        async with sessions() as session:
            return int(
                await session.scalar(select(func.count()).where(InteractionFact.brand_id == brand))
                or 0
            )

    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await facts() < COUNT:
            assert loop.time() < deadline, "the events were not folded in time"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a poll folded twice would show by now
    finally:
        runner.stop()
        with contextlib.suppress(Exception):
            await task
        await producer.stop()

    assert failures == 1
    assert await facts() == COUNT  # none lost, none dead-lettered
    folded, folded_bins = await read_rollups(sessions, brand)
    per_granularity: dict[str, int] = {}
    for key, values in folded.items():
        per_granularity[key[0]] = per_granularity.get(key[0], 0) + values[0]
    assert per_granularity == {"m": COUNT, "h": COUNT, "d": COUNT}
    async with sessions() as session, session.begin():
        await rebuild(session, brand)
    assert await read_rollups(sessions, brand) == (folded, folded_bins)
    await engine.dispose()
