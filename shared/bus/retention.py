"""Retention: rows that only matter for a while are deleted once past it, by a loop each service
runs in its lifespan.

- `outbox_events` rows once published (`published_at`), except the newest marked row of each
  partition: the relay's recovery scans a partition from its last marked offset, and without
  one it would scan the partition from its start.
- `processed_events` (`processed_at`): the consumers' dedupe log. A redelivery older than the
  retention would be handled again, so keep it longer than the topics keep their records.
- a service's own tables (ingest's `delivery_keys`), passed as more `PurgeJob`s.

Rows go in chunks of `chunk_rows`, each chunk in its own short transaction, so a large backlog
never holds locks for long; a pass stops after `max_chunks` and the rest waits for the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import Column, ColumnElement, Table, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.tables import BusTables
from shared.clock import utc_now

logger = structlog.get_logger("socialcare.retention")
PURGED = Counter(
    "socialcare_retention_purged_rows_total",
    "Rows deleted once past their retention",
    ["service", "table"],
)
DUE = Gauge(
    "socialcare_retention_due_rows",
    "Rows past their retention still there after the last purge pass (a pass hit its cap)",
    ["service", "table"],
)


@dataclass(frozen=True)
class PurgeJob:
    """Delete rows of `table` whose `age_column` is older than `retention`."""

    table: Table
    age_column: Column[datetime]
    retention: timedelta
    keep: ColumnElement[bool] | None = None  # rows to keep whatever their age

    @property
    def name(self) -> str:
        return self.table.name


def bus_purge_jobs(
    tables: BusTables, *, outbox_retention: timedelta, processed_retention: timedelta
) -> list[PurgeJob]:
    outbox, processed = tables.outbox, tables.processed_events
    last_marked = (
        select(func.max(outbox.c.id))
        .where(outbox.c.partition.is_not(None))
        .group_by(outbox.c.topic, outbox.c.partition)
    )
    return [
        PurgeJob(
            outbox, outbox.c.published_at, outbox_retention, keep=outbox.c.id.in_(last_marked)
        ),
        PurgeJob(processed, processed.c.processed_at, processed_retention),
    ]


async def purge_job(
    sessions: async_sessionmaker[AsyncSession],
    job: PurgeJob,
    *,
    service: str,
    now: datetime | None = None,
    chunk_rows: int = 5000,
    max_chunks: int = 100,
) -> int:
    """Delete what `job` says is past retention; return how many rows went."""
    before = (now or utc_now()) - job.retention
    keys = list(job.table.primary_key.columns)
    old = job.age_column < before
    if job.keep is not None:
        old = old & ~job.keep
    expired = select(*keys).where(old).limit(chunk_rows)
    condition = keys[0].in_(expired) if len(keys) == 1 else tuple_(*keys).in_(expired)
    total = 0
    full = False
    for _ in range(max_chunks):
        async with sessions() as session, session.begin():
            result = await session.execute(delete(job.table).where(condition))
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        full = deleted >= chunk_rows
        if not full:
            break
    PURGED.labels(service, job.name).inc(total)
    due = 0
    if full:
        async with sessions() as session:
            due = int(
                await session.scalar(select(func.count()).select_from(job.table).where(old)) or 0
            )
    DUE.labels(service, job.name).set(due)
    return total


async def purge_once(
    sessions: async_sessionmaker[AsyncSession],
    jobs: Sequence[PurgeJob],
    *,
    service: str,
    now: datetime | None = None,
) -> dict[str, int]:
    """One pass over every job; returns the rows deleted per table."""
    return {job.name: await purge_job(sessions, job, service=service, now=now) for job in jobs}


async def run_retention(
    sessions: async_sessionmaker[AsyncSession],
    jobs: Sequence[PurgeJob],
    *,
    service: str,
    interval_seconds: float,
) -> None:
    """Purge every `interval_seconds`, the first pass right away; failures wait for the next."""
    while True:
        try:
            purged = await purge_once(sessions, jobs, service=service)
            if any(purged.values()):
                logger.info("retention_purged", service=service, rows=purged)
        except Exception as exc:
            logger.warning("retention_purge_failed", service=service, error=str(exc))
        await asyncio.sleep(interval_seconds)
