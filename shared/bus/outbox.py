"""Transactional outbox: the state change and its event commit together; a relay publishes them.

`add_to_outbox` writes the record in the caller's transaction, so a rolled-back change publishes
nothing. `OutboxRelay` publishes committed rows in order and marks them with where they landed.
If the relay dies after the broker acknowledged but before the mark committed, the restarted relay
scans each partition past its last marked offset for the event ids it still holds as pending and
marks those instead of sending them again: every committed event is published exactly once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.producer import EventProducer
from shared.bus.tables import BusTables
from shared.events.envelope import Envelope
from shared.events.registry import topic_for

logger = structlog.get_logger("socialcare.outbox")
RELAYED = Counter("socialcare_outbox_relayed_total", "Outbox rows published", ["service"])
RECOVERED = Counter(
    "socialcare_outbox_recovered_total",
    "Outbox rows found already published after a relay restart",
    ["service"],
)
PENDING = Gauge("socialcare_outbox_pending", "Outbox rows waiting to be published", ["service"])


async def add_to_outbox(
    session: AsyncSession, tables: BusTables, envelope: Envelope, *, topic: str | None = None
) -> None:
    """Stage an event in the current transaction (publish-after-commit)."""
    key, value, headers = envelope.to_kafka()
    await session.execute(
        insert(tables.outbox).values(
            event_id=envelope.id,
            topic=topic or topic_for(envelope.type),
            key=key.decode(),
            value=value,
            headers=[[name, raw.decode("utf-8")] for name, raw in headers],
        )
    )


async def add_many_to_outbox(
    session: AsyncSession, tables: BusTables, envelopes: list[Envelope]
) -> None:
    """Stage several events in the current transaction with one statement."""
    if not envelopes:
        return
    rows = []
    for envelope in envelopes:
        key, value, headers = envelope.to_kafka()
        rows.append(
            {
                "event_id": envelope.id,
                "topic": topic_for(envelope.type),
                "key": key.decode(),
                "value": value,
                "headers": [[name, raw.decode("utf-8")] for name, raw in headers],
            }
        )
    await session.execute(insert(tables.outbox), rows)


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
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.tables = tables
        self.producer = producer
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._recovered = False

    def notify(self) -> None:
        """Wake the relay now instead of at the next poll (called after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                if not self._recovered:
                    await self.recover()
                    self._recovered = True
                published = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Kafka or the database is down: report, back off, and recover on the next pass.
                logger.warning("outbox_relay_failed", error=str(exc), service=self.service)
                self._recovered = False
                await asyncio.sleep(1.0)
                continue
            if published < self.batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch of pending rows in id order; return how many were published."""
        outbox = self.tables.outbox
        async with self.sessions() as session, session.begin():
            query = (
                select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not rows:
                PENDING.labels(self.service).set(0)
                return 0
            results = await self.producer.send_many(
                [
                    (
                        row.topic,
                        row.key.encode(),
                        row.value,
                        [(name, raw.encode("utf-8")) for name, raw in row.headers],
                    )
                    for row in rows
                ]
            )
            now = datetime.now(UTC)
            await session.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("row_id"))
                .values(
                    published_at=bindparam("now"),
                    partition=bindparam("landed_partition"),
                    offset=bindparam("landed_offset"),
                ),
                [
                    {
                        "row_id": row.id,
                        "now": now,
                        "landed_partition": result.partition,
                        "landed_offset": result.offset,
                    }
                    for row, result in zip(rows, results, strict=True)
                ],
            )
        RELAYED.labels(self.service).inc(len(rows))
        return len(rows)

    async def pending_count(self) -> int:
        outbox = self.tables.outbox
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        PENDING.labels(self.service).set(count or 0)
        return int(count or 0)

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
