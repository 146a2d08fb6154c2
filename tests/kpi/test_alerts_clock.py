"""The periodic alert check on PostgreSQL: an active SLA burst whose breaches stopped is
resolved by the clock, once, with its alert.resolved in the outbox, even when two replicas
check at the same time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi.alerts import service
from services.kpi.alerts.detector import CrisisConfig, Resolved
from services.kpi.alerts.models import AlertRecord
from services.kpi.models import bus_tables
from shared.db import create_engine, session_factory
from shared.events.cases import CaseEvent, SlaKind
from tests.fixtures.services import migrated_database
from tests.kpi import events
from tests.kpi.alert_streams import MONDAY

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    database = await migrated_database(postgres_url, "kpi")
    engine = create_engine(database, schema="kpi")
    yield session_factory(engine)
    await engine.dispose()


async def test_a_burst_resolves_on_the_clock_once_across_replicas(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    brand = f"clock-{uuid.uuid4().hex[:6]}"
    start = MONDAY + timedelta(hours=9)
    async with sessions() as session, session.begin():
        for index in range(8):
            at = start + timedelta(minutes=index)
            envelope = events.case(
                None,
                brand=brand,
                case_id=f"{brand}-{index}",
                event_type="case.sla_breached",
                first_inbound_at=at,
                opened_at=at,
                occurred_at=at,
                sla_kind=SlaKind.first_response,
            )
            assert isinstance(envelope.data, CaseEvent)
            await service.observe_case(session, envelope.type, envelope.data)
    config = CrisisConfig()

    async def check(minutes: int) -> list[object]:
        async with sessions() as session, session.begin():
            found = await service.resolve_cleared(
                session, start + timedelta(minutes=minutes), config
            )
            return list(found)  # the module's own database: only this test's detectors

    async def alert() -> AlertRecord:
        async with sessions() as session:
            record = await session.scalar(select(AlertRecord).where(AlertRecord.brand_id == brand))
            assert record is not None
            return record

    assert (await alert()).status == "active"
    assert await check(20) == []  # the burst still holds
    both = await asyncio.gather(check(240), check(240))
    assert sorted(len(found) for found in both) == [0, 1]
    assert all(isinstance(decision, Resolved) for found in both for decision in found)
    record = await alert()
    assert record.status == "resolved"
    assert record.resolved_at is not None
    assert await check(300) == []
    async with sessions() as session:
        outbox = bus_tables.outbox
        staged = (
            await session.scalars(select(outbox.c.event_id).where(outbox.c.key == brand))
        ).all()
    # alert.raised and alert.resolved, each once
    assert len(staged) == 2, staged
