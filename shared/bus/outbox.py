"""Transactional outbox: the state change and its event commit together; a relay publishes them.

`add_to_outbox` writes the record in the caller's transaction, so a rolled-back change publishes
nothing. `OutboxRelay` publishes committed rows in order and marks them with where they landed.
If the relay dies after the broker acknowledged but before the mark committed, the restarted relay
scans each partition past its last marked offset for the event ids it still holds as pending and
marks those instead of sending them again: every committed event is published exactly once.

With several replicas, one relay per service publishes at a time (on PostgreSQL): it holds a
session advisory lock, its lease, on a connection of its own and runs every pass on that
connection. Two relays sending batches side by side would let a later batch overtake an earlier
one and reorder a thread's events; with the lease, batches leave one after the other in id order.
A relay that takes the lease over runs the recovery scan first (the previous holder may have died
between send and mark), and any failed pass gives the lease up by closing its connection.

Hand-over: the records a transaction stages are kept in its session until it ends; once it has
committed, they are handed to this process's relay (when it holds the lease), which then needs
only the ids and event ids of the pending rows from the database, not their values and headers
again (read back, decoded and encoded into records once more: over a third of what the relay
cost per event in bench/routing.py). The database stays the authority: only the rows it lists
as pending are sent, in its order, and a row without a handed-over record is read in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge
from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import event as orm_event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared import bulk
from shared.bus.producer import EventProducer
from shared.bus.tables import BusTables
from shared.db import advisory_key
from shared.events.envelope import Envelope
from shared.events.registry import topic_for

logger = structlog.get_logger("socialcare.outbox")
RELAYED = Counter("socialcare_outbox_relayed_total", "Outbox rows published", ["service"])
RECOVERED = Counter(
    "socialcare_outbox_recovered_total",
    "Outbox rows found already published after a relay restart",
    ["service"],
)
HANDED_OVER = Counter(
    "socialcare_outbox_handed_over_total",
    "Outbox rows published from the record their transaction handed over (not read back)",
    ["service"],
)
LEADER = Gauge(
    "socialcare_outbox_relay_leader", "1 while this relay holds its service's lease", ["service"]
)


# A record as the producer takes it: topic, key, value, headers.
OutboxRecord = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
STAGED = "socialcare.outbox.staged"
# Records kept for a leading relay at most (the oldest go first; their rows are then read).
HANDOVER_LIMIT = 20_000
# Seconds a record is kept at most (the relay takes it within a pass of its commit).
HANDOVER_MAX_AGE = 60.0


class Handover:
    """Committed outbox records waiting for this process's relay, by outbox table and event id
    (a service may run several relays in one process, one per table).

    A record the relay never asks for (its row was published from the database first: the relay
    can run between a commit and its hook) goes once it is `max_age` seconds old, or when more
    than `limit` are kept."""

    def __init__(self, limit: int = HANDOVER_LIMIT, max_age: float = HANDOVER_MAX_AGE) -> None:
        self.limit = limit
        self.max_age = max_age
        self._waiting: dict[Table, dict[str, tuple[float, OutboxRecord]]] = {}

    def open(self, outbox: Table) -> None:
        """Start keeping `outbox`'s records (its relay holds the lease)."""
        self._waiting.setdefault(outbox, {})

    def close(self, outbox: Table) -> None:
        """Stop keeping them, and drop those kept (the relay let the lease go)."""
        self._waiting.pop(outbox, None)

    def add(self, staged: list[tuple[Table, str, OutboxRecord]]) -> None:
        now = time.monotonic()
        for outbox, event_id, record in staged:
            waiting = self._waiting.get(outbox)
            if waiting is None:
                continue
            waiting[event_id] = (now, record)
            if len(waiting) > self.limit:
                del waiting[next(iter(waiting))]

    def take(self, outbox: Table, event_ids: Sequence[str]) -> dict[str, OutboxRecord]:
        waiting = self._waiting.get(outbox)
        if not waiting:
            return {}
        taken = {
            event_id: kept[1]
            for event_id in event_ids
            if (kept := waiting.pop(event_id, None)) is not None
        }
        # The oldest first (kept in commit order): those past their age were never asked for.
        expired = time.monotonic() - self.max_age
        while waiting:
            oldest = next(iter(waiting))
            if waiting[oldest][0] > expired:
                break
            del waiting[oldest]
        return taken

    def waiting(self, outbox: Table) -> int:
        return len(self._waiting.get(outbox, ()))


HANDOVER = Handover()


def _stage(session: AsyncSession, outbox: Table, records: list[tuple[str, OutboxRecord]]) -> None:
    staged: list[tuple[Table, str, OutboxRecord]] = session.info.setdefault(STAGED, [])
    staged.extend((outbox, event_id, record) for event_id, record in records)


@orm_event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    staged = session.info.pop(STAGED, None)
    if staged:
        HANDOVER.add(staged)


@orm_event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(STAGED, None)


def lease_key(service: str) -> int:
    """The advisory lock id of a service's relay lease (a signed 64-bit integer)."""
    return advisory_key(f"socialcare.outbox.{service}")


async def add_to_outbox(
    session: AsyncSession, tables: BusTables, envelope: Envelope, *, topic: str | None = None
) -> None:
    """Stage an event in the current transaction (publish-after-commit)."""
    key, value, headers = envelope.to_kafka()
    topic = topic or topic_for(envelope.type)
    await session.execute(
        insert(tables.outbox).values(
            event_id=envelope.id,
            topic=topic,
            key=key.decode(),
            value=value,
            headers=[[name, raw.decode("utf-8")] for name, raw in headers],
        )
    )
    _stage(session, tables.outbox, [(envelope.id, (topic, key, value, headers))])


OUTBOX_COLUMNS = ("event_id", "topic", "key", "value", "headers")


async def add_many_to_outbox(
    session: AsyncSession, tables: BusTables, envelopes: Sequence[Envelope]
) -> None:
    """Stage several events in the current transaction in one go (shared/bulk.py: a COPY on
    PostgreSQL), numbered in their order (the relay publishes in that order)."""
    if not envelopes:
        return
    rows = []
    records: list[tuple[str, OutboxRecord]] = []
    for envelope in envelopes:
        key, value, headers = envelope.to_kafka()
        topic = topic_for(envelope.type)
        rows.append(
            (
                envelope.id,
                topic,
                key.decode(),
                value,
                [[name, raw.decode("utf-8")] for name, raw in headers],
            )
        )
        records.append((envelope.id, (topic, key, value, headers)))
    await bulk.copy_rows(session, tables.outbox, OUTBOX_COLUMNS, rows)
    _stage(session, tables.outbox, records)


def pending_batch(outbox: Table, limit: int) -> Select[tuple[int, str]]:
    """The ids and event ids of the next `limit` unpublished rows in id order: read through
    the partial index of pending ids (`ix_outbox_events_pending`), whatever the number of
    published rows."""
    return (
        select(outbox.c.id, outbox.c.event_id)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )


def rows_by_id(outbox: Table, ids: list[int]) -> Select[tuple[int, str, str, bytes, Any]]:
    """The records of these rows (those no transaction of this process handed over)."""
    return select(
        outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers
    ).where(outbox.c.id.in_(ids))


async def _mark_published(
    session: AsyncSession, outbox: Table, now: datetime, landed: list[tuple[int, int, int]]
) -> None:
    """Stamp published rows with where they landed: on PostgreSQL one UPDATE joined to the
    arrays of ids, partitions and offsets (one statement whatever the batch, rather than one
    execution per row); elsewhere one execution per row."""
    if session.get_bind().dialect.name == "postgresql":
        arrays = select(
            func.unnest(bindparam("ids", type_=ARRAY(BigInteger))).label("row_id"),
            func.unnest(bindparam("partitions", type_=ARRAY(Integer))).label("landed_partition"),
            func.unnest(bindparam("offsets", type_=ARRAY(BigInteger))).label("landed_offset"),
        ).subquery("landed")
        await session.execute(
            update(outbox)
            .where(outbox.c.id == arrays.c.row_id)
            .values(
                published_at=bindparam("now"),
                partition=arrays.c.landed_partition,
                offset=arrays.c.landed_offset,
            ),
            {
                "now": now,
                "ids": [row_id for row_id, _, _ in landed],
                "partitions": [partition for _, partition, _ in landed],
                "offsets": [offset for _, _, offset in landed],
            },
        )
        return
    await session.execute(
        update(outbox)
        .where(outbox.c.id == bindparam("row_id"))
        .values(
            published_at=bindparam("now"),
            partition=bindparam("landed_partition"),
            offset=bindparam("landed_offset"),
        ),
        [
            {"row_id": row_id, "now": now, "landed_partition": partition, "landed_offset": offset}
            for row_id, partition, offset in landed
        ],
    )


class OutboxRelay:
    """Publishes committed outbox rows; one loop per service process."""

    def __init__(
        self,
        *,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        tables: BusTables,
        producer: EventProducer,
        bootstrap: str,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        stall_seconds: float = 30.0,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.tables = tables
        self.producer = producer
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stall_seconds = stall_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._recovered = False
        self._lease: AsyncConnection | None = None
        self._last_pass = time.monotonic()  # when a pass last ended well
        self._failure: str | None = None

    @property
    def leading(self) -> bool:
        """Holds the lease: this replica's relay is the one publishing."""
        return self._lease is not None

    def stuck(self) -> str | None:
        """None while passes succeed; otherwise why the relay is not publishing (readiness)."""
        idle = time.monotonic() - self._last_pass
        if idle <= self.stall_seconds:
            return None
        if self._failure is not None:
            return f"no successful pass for {idle:.0f} s: {self._failure}"
        return f"a pass has been running for {idle:.0f} s"

    def notify(self) -> None:
        """Wake the relay now instead of at the next poll (called after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            await self.release()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                published = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Kafka or the database is down: report, back off, and recover on the next
                # pass; a database error gives the lease up.
                logger.warning("outbox_relay_failed", error=str(exc), service=self.service)
                self._failure = f"{type(exc).__name__}: {exc}"[:200]
                self._recovered = False
                if isinstance(exc, SQLAlchemyError):
                    await self.release()  # its connection may be gone, and the lock with it
                await asyncio.sleep(1.0)
                continue
            self._failure = None
            self._last_pass = time.monotonic()
            if published < self.batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _engine(self) -> AsyncEngine:
        bind = self.sessions.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("the outbox relay needs a session factory bound to an engine")
        return bind

    async def acquire(self) -> bool:
        """Hold the service's relay lease (always, on SQLite: one process per file); a relay
        that just took it over recovers before it publishes."""
        if self._lease is not None:
            return True
        engine = self._engine()
        if engine.dialect.name != "postgresql":
            return True
        connection = await engine.connect()
        try:
            held = await connection.scalar(
                select(func.pg_try_advisory_lock(lease_key(self.service)))
            )
            await connection.commit()  # a session lock outlives the transaction
        except BaseException:
            await connection.close()
            raise
        if not held:
            await connection.close()
            return False
        self._lease = connection
        self._recovered = False
        HANDOVER.open(self.tables.outbox)
        LEADER.labels(self.service).set(1)
        logger.info("outbox_lease_acquired", service=self.service)
        return True

    async def release(self) -> None:
        """Give the lease up: the connection is closed, not pooled, so the lock goes with it."""
        lease, self._lease = self._lease, None
        if lease is None:
            return
        HANDOVER.close(self.tables.outbox)
        LEADER.labels(self.service).set(0)
        with contextlib.suppress(Exception):
            await lease.invalidate()
        with contextlib.suppress(Exception):
            await lease.close()

    async def relay_once(self) -> int:
        """Publish one batch of pending rows in id order; return how many were published
        (0 when another relay holds the lease)."""
        if not await self.acquire():
            return 0
        if not self._recovered:
            await self.recover()
            self._recovered = True
        outbox = self.tables.outbox
        bind = {"bind": self._lease} if self._lease is not None else {}
        async with self.sessions(**bind) as session, session.begin():
            rows = (await session.execute(pending_batch(outbox, self.batch_size))).all()
            if not rows:
                return 0
            handed = HANDOVER.take(outbox, [row.event_id for row in rows])
            missing = [row.id for row in rows if row.event_id not in handed]
            read: dict[int, OutboxRecord] = {}
            if missing:
                for row in (await session.execute(rows_by_id(outbox, missing))).all():
                    read[row.id] = (
                        row.topic,
                        row.key.encode(),
                        row.value,
                        [(name, raw.encode("utf-8")) for name, raw in row.headers],
                    )
            HANDED_OVER.labels(self.service).inc(len(rows) - len(missing))
            results = await self.producer.send_many(
                [handed.get(row.event_id) or read[row.id] for row in rows]
            )
            now = datetime.now(UTC)
            await _mark_published(
                session,
                outbox,
                now,
                [
                    (row.id, result.partition, result.offset)
                    for row, result in zip(rows, results, strict=True)
                ],
            )
        RELAYED.labels(self.service).inc(len(rows))
        return len(rows)

    async def recover(self) -> int:
        """Mark pending rows that already reached Kafka (sent, then the relay died)."""
        outbox = self.tables.outbox
        async with self.sessions() as session:
            pending = list(
                (
                    await session.execute(
                        select(outbox.c.id, outbox.c.event_id, outbox.c.topic).where(
                            outbox.c.published_at.is_(None)
                        )
                    )
                ).all()
            )
            if not pending:
                return 0
            topics = {row.topic for row in pending}
            marks = (
                await session.execute(
                    select(outbox.c.topic, outbox.c.partition, func.max(outbox.c.offset))
                    .where(outbox.c.topic.in_(topics), outbox.c.offset.is_not(None))
                    .group_by(outbox.c.topic, outbox.c.partition)
                )
            ).all()
        last_marked = {(topic, partition): offset for topic, partition, offset in marks}
        wanted = {row.event_id: row.id for row in pending}
        found = await self._scan_for_events(topics, last_marked, set(wanted))
        if not found:
            return 0
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            for event_id, (partition, offset) in found.items():
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id == wanted[event_id])
                    .values(published_at=now, partition=partition, offset=offset)
                )
        RECOVERED.labels(self.service).inc(len(found))
        logger.info("outbox_recovered", service=self.service, rows=len(found))
        return len(found)

    async def _scan_for_events(
        self,
        topics: set[str],
        last_marked: dict[tuple[str, int], int],
        event_ids: set[str],
    ) -> dict[str, tuple[int, int]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        found: dict[str, tuple[int, int]] = {}
        try:
            partitions = [
                TopicPartition(topic, partition)
                for topic in sorted(topics)
                for partition in sorted(await self.producer.partitions_for(topic))
            ]
            if not partitions:
                return found
            consumer.assign(partitions)
            end_offsets = await consumer.end_offsets(partitions)
            remaining: dict[TopicPartition, int] = {}
            for tp in partitions:
                start = last_marked.get((tp.topic, tp.partition))
                if start is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, start + 1)
                if end_offsets[tp] > (start + 1 if start is not None else 0):
                    remaining[tp] = end_offsets[tp]
            by_partition: dict[TopicPartition, int] = defaultdict(int)
            while remaining:
                batch = await consumer.getmany(timeout_ms=1000, max_records=500)
                if not batch:
                    break
                for tp, records in batch.items():
                    for record in records:
                        by_partition[tp] = record.offset
                        event_id = next(
                            (raw.decode() for name, raw in record.headers if name == "ce_id"), None
                        )
                        if event_id in event_ids:
                            found[event_id] = (tp.partition, record.offset)
                    if tp in remaining and by_partition[tp] + 1 >= remaining[tp]:
                        del remaining[tp]
        finally:
            await consumer.stop()
        return found
