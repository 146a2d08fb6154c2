"""Retention against PostgreSQL: what is past its retention goes, in chunks; what is pending, recent
or still needed (the last mark of each partition) stays; each service's lifespan runs the purge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from services.ingest.models import bus_tables as ingest_bus_tables
from services.ingest.repository import DELIVERY_KEYS
from shared.bus.retention import bus_purge_jobs, purge_job
from shared.bus.tables import define_bus_tables
from shared.db import NAMING_CONVENTION, create_engine, session_factory
from tests.conftest import serve
from tests.fixtures.services import migrated_database

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _purged(service: str, table: str) -> float:
    labels = {"service": service, "table": table}
    return REGISTRY.get_sample_value("socialcare_retention_purged_rows_total", labels) or 0.0


def _outbox_row(
    n: int, *, published: datetime | None, partition: int | None = 0
) -> dict[str, object]:
    return {
        "event_id": f"event-{n}",
        "topic": "socialcare.cases",
        "key": "brand:x:1",
        "value": b"{}",
        "headers": [],
        "created_at": published or NOW,
        "published_at": published,
        "partition": partition if published else None,
        "offset": n if published else None,
    }


async def test_purge_deletes_only_what_is_past_retention_in_chunks(pg_engine: AsyncEngine) -> None:
    tables = define_bus_tables(MetaData(schema="public", naming_convention=NAMING_CONVENTION))
    async with pg_engine.begin() as connection:
        await connection.run_sync(tables.outbox.metadata.create_all)
        old, recent = NOW - timedelta(days=10), NOW - timedelta(hours=1)
        await connection.execute(
            insert(tables.outbox),
            [
                *(_outbox_row(n, published=old) for n in range(1, 12)),  # 11 old, partition 0
                _outbox_row(12, published=old, partition=1),  # the only mark of partition 1
                _outbox_row(13, published=None),  # pending, however old: never purged
                _outbox_row(14, published=recent),  # recent: kept
            ],
        )
        await connection.execute(
            insert(tables.processed_events),
            [
                *({"consumer": "c", "event_id": f"old-{n}", "processed_at": old} for n in range(7)),
                {"consumer": "c", "event_id": "recent", "processed_at": recent},
            ],
        )
    sessions = session_factory(pg_engine)
    outbox_job, processed_job = bus_purge_jobs(
        tables, outbox_retention=timedelta(days=3), processed_retention=timedelta(days=7)
    )
    before = _purged("retention-test", "outbox_events")
    deleted = await purge_job(sessions, outbox_job, service="retention-test", now=NOW, chunk_rows=4)
    assert deleted == 11  # 1..11 in three chunks; 14 holds partition 0's last mark now
    assert _purged("retention-test", "outbox_events") - before == 11
    assert await purge_job(sessions, processed_job, service="retention-test", now=NOW) == 7
    async with pg_engine.connect() as connection:
        kept = (await connection.scalars(select(tables.outbox.c.event_id))).all()
        processed = (await connection.scalars(select(tables.processed_events.c.event_id))).all()
    assert sorted(kept) == ["event-12", "event-13", "event-14"]
    assert processed == ["recent"]


async def test_each_service_lifespan_purges_its_tables(postgres_url: str) -> None:
    database = await migrated_database(postgres_url, "ingest")
    engine = create_engine(database, schema="ingest")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(ingest_bus_tables.outbox),
                [_outbox_row(n, published=long_ago) for n in range(1, 4)],
            )
            await connection.execute(
                insert(ingest_bus_tables.processed_events),
                [{"consumer": "c", "event_id": "e", "processed_at": long_ago}],
            )
            await connection.execute(
                insert(DELIVERY_KEYS),
                [
                    {
                        "source": "s",
                        "external_id": "old",
                        "change_kind": "k",
                        "created_at": long_ago,
                    },
                    {
                        "source": "s",
                        "external_id": "new",
                        "change_kind": "k",
                        "created_at": datetime.now(UTC),
                    },
                ],
            )
        settings = IngestSettings(
            database_url=database,
            kafka_enabled=False,
            internal_secret=SecretStr("retention-test-secret"),
        )

        async def counts() -> tuple[int, ...]:
            async with engine.connect() as connection:
                return tuple(
                    [
                        int(await connection.scalar(select(func.count()).select_from(table)) or 0)
                        for table in (
                            ingest_bus_tables.outbox,
                            ingest_bus_tables.processed_events,
                            DELIVERY_KEYS,
                        )
                    ]
                )

        async with serve(create_app(settings)):
            for _ in range(100):
                if await counts() == (1, 0, 1):
                    break
                await asyncio.sleep(0.1)
        # The newest mark stays (recovery starts from it); the rest is gone.
        assert await counts() == (1, 0, 1)
    finally:
        await engine.dispose()
