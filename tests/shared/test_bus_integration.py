"""The bus against the real broker and PostgreSQL: envelope, consumer runner, DLQ, outbox."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import RecordMetadata
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.bus.admin import ensure_topics
from shared.bus.consumer import ConsumerRunner, RetryPolicy, prepared_for
from shared.bus.outbox import HANDOVER, Handover, OutboxRelay, add_many_to_outbox, add_to_outbox
from shared.bus.producer import EventProducer
from shared.bus.tables import BusTables, define_bus_tables
from shared.db import NAMING_CONVENTION, session_factory
from shared.events.envelope import Envelope, Headers
from shared.events.registry import EventType, register
from shared.events.topics import dlq_topic

pytestmark = pytest.mark.integration


class Ping(BaseModel):
    n: int
    text: str = ""


class SimulatedCrashError(BaseException):
    """Stands for the process dying: not an Exception, so nothing handles it."""


@dataclass
class Bus:
    topic: str
    engine: AsyncEngine
    tables: BusTables
    effects: Table
    producer: EventProducer
    bootstrap: str
    event_type: str

    def envelope(self, n: int, text: str = "", key: str = "thread-1") -> Envelope:
        return Envelope(type=self.event_type, source="/tests", key=key, data=Ping(n=n, text=text))


@pytest.fixture
async def bus(kafka_bootstrap: str, pg_engine: AsyncEngine) -> AsyncIterator[Bus]:
    suffix = uuid.uuid4().hex[:10]
    topic = f"test.bus.{suffix}"
    event_type = f"test.ping.{suffix}"
    register(EventType(event_type, topic, Ping, "tests"))
    await ensure_topics(kafka_bootstrap, [topic, dlq_topic(topic)], partitions=1)
    metadata = MetaData(schema="public", naming_convention=NAMING_CONVENTION)
    tables = define_bus_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("n", Integer, nullable=False),
    )
    async with pg_engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    producer = EventProducer(kafka_bootstrap, client_id=f"test-{suffix}")
    await producer.start()
    try:
        yield Bus(topic, pg_engine, tables, effects, producer, kafka_bootstrap, event_type)
    finally:
        await producer.stop()


def runner_for(
    bus: Bus, handler: object = None, *, batch_handler: object = None, **kwargs: object
) -> ConsumerRunner:
    """A runner of the test topic with `handler` (one envelope) or `batch_handler` (a poll's)."""
    return ConsumerRunner(
        name="test",
        bootstrap=bus.bootstrap,
        topics=[bus.topic],
        group_id=f"group-{bus.topic}",
        handlers={bus.event_type: handler} if handler is not None else {},  # type: ignore[dict-item]
        batch_handlers=(
            {bus.event_type: batch_handler}  # type: ignore[dict-item]
            if batch_handler is not None
            else None
        ),
        sessions=session_factory(bus.engine),
        tables=bus.tables,
        producer=bus.producer,
        **kwargs,  # type: ignore[arg-type]
    )


async def read_all(bootstrap: str, topic: str, expected: int, within: float = 20) -> list:  # type: ignore[type-arg]
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for items in batch.values():
                records.extend(items)
        # Wait a little longer to catch anything that should not be there.
        batch = await consumer.getmany(timeout_ms=1000)
        for items in batch.values():
            records.extend(items)
    finally:
        await consumer.stop()
    return records


async def effect_counts(bus: Bus) -> dict[int, int]:
    async with bus.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(bus.effects.c.n, func.count()).group_by(bus.effects.c.n)
            )
        ).all()
    return dict(rows)


async def pending_count(bus: Bus) -> int:
    """Outbox rows not yet published."""
    outbox = bus.tables.outbox
    async with bus.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    return int(count or 0)


async def wait_for(predicate: object, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_publish_consume_round_trip_keeps_cloudevents_headers(bus: Bus) -> None:
    sent = bus.envelope(7, "Hola, ¿me ayudáis con mi pedido?", key="brand-1:x:123")
    await bus.producer.publish(sent)
    received: list[Envelope] = []

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        received.append(envelope)

    runner = runner_for(bus, handler)
    task = asyncio.create_task(runner.run())
    try:

        async def got_it() -> bool:
            return bool(received)

        await wait_for(got_it)
    finally:
        runner.stop()
        await task
    (envelope,) = received
    assert envelope.id == sent.id
    assert envelope.type == bus.event_type
    assert envelope.source == "/tests"
    assert envelope.key == "brand-1:x:123"
    assert envelope.data == Ping(n=7, text="Hola, ¿me ayudáis con mi pedido?")
    (record,) = await read_all(bus.bootstrap, bus.topic, 1)
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == sent.id.encode()
    assert headers["ce_type"] == bus.event_type.encode()
    assert headers["content-type"] == b"application/json"
    assert record.key == b"brand-1:x:123"


async def test_consumer_crash_between_db_commit_and_offset_commit_has_effects_once(
    bus: Bus,
) -> None:
    total = 120
    for n in range(total):
        await bus.producer.publish(bus.envelope(n))

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        assert isinstance(envelope.data, Ping)
        await session.execute(insert(bus.effects).values(event_id=envelope.id, n=envelope.data.n))

    def crash() -> None:
        raise SimulatedCrashError

    crashing = runner_for(bus, handler, max_batch=25, on_committed=crash)
    with pytest.raises(SimulatedCrashError):
        await crashing.run()
    first = await effect_counts(bus)
    assert 0 < sum(first.values()) < total  # the crash came mid-stream, after a DB commit

    # A second crash: cancelled while a handler is in flight (transaction rolled back).
    in_flight = asyncio.Event()

    async def stuck_handler(session: AsyncSession, envelope: Envelope) -> None:
        await handler(session, envelope)
        assert isinstance(envelope.data, Ping)
        if envelope.data.n == 60:
            in_flight.set()
            await asyncio.Event().wait()  # never returns: the task is killed here

    cancelled = runner_for(bus, stuck_handler, max_batch=25)
    task = asyncio.create_task(cancelled.run())
    await asyncio.wait_for(in_flight.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    runner = runner_for(bus, handler, max_batch=25)
    task = asyncio.create_task(runner.run())

    async def all_done() -> bool:
        return len(await effect_counts(bus)) == total

    try:
        await wait_for(all_done)
    finally:
        runner.stop()
        await task
    counts = await effect_counts(bus)
    assert counts == dict.fromkeys(range(total), 1)


class OverlapWatchingRunner(ConsumerRunner):
    """Counts the polls parsed while the previous poll's transaction was still open."""

    overlapped = 0

    def _parse_all(self, batches: Any) -> list[Envelope] | None:
        if self._handling is not None and not self._handling.done():
            self.overlapped += 1
        return super()._parse_all(batches)


async def test_the_next_poll_is_fetched_during_a_transaction_and_order_holds(bus: Bus) -> None:
    total = 60
    await bus.producer.publish(*(bus.envelope(n) for n in range(total)))
    handled: list[int] = []

    async def slow_handler(session: AsyncSession, envelope: Envelope) -> None:
        assert isinstance(envelope.data, Ping)
        handled.append(envelope.data.n)
        await session.execute(insert(bus.effects).values(event_id=envelope.id, n=envelope.data.n))
        await asyncio.sleep(0.02)  # a transaction that takes a while

    runner = OverlapWatchingRunner(
        name="test",
        bootstrap=bus.bootstrap,
        topics=[bus.topic],
        group_id=f"group-{bus.topic}",
        handlers={bus.event_type: slow_handler},
        sessions=session_factory(bus.engine),
        tables=bus.tables,
        producer=bus.producer,
        max_batch=5,
    )
    task = asyncio.create_task(runner.run())

    async def all_done() -> bool:
        return len(await effect_counts(bus)) == total

    try:
        await wait_for(all_done)
    finally:
        runner.stop()
        await task
    assert handled == list(range(total))  # one partition: handled in order, each once
    assert await effect_counts(bus) == dict.fromkeys(range(total), 1)
    # 12 polls of 5, each transaction 100 ms: the next poll was waiting, parsed, nearly always.
    assert runner.overlapped >= 6


async def test_poison_message_lands_in_dlq_and_partition_keeps_flowing(bus: Bus) -> None:
    await bus.producer.publish(bus.envelope(1))
    poison = bus.envelope(2, "poison")
    await bus.producer.publish(poison)
    # Not a CloudEvent at all: straight to the DLQ without retries.
    await bus.producer.send_many([(bus.topic, b"thread-1", b"{not json", [])])
    await bus.producer.publish(bus.envelope(3))
    attempts: dict[int, int] = {}

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        assert isinstance(envelope.data, Ping)
        attempts[envelope.data.n] = attempts.get(envelope.data.n, 0) + 1
        if envelope.data.text == "poison":
            raise ValueError("cannot route this message")
        await session.execute(insert(bus.effects).values(event_id=envelope.id, n=envelope.data.n))

    runner = runner_for(
        bus, handler, retry=RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05)
    )
    task = asyncio.create_task(runner.run())

    async def flowed() -> bool:
        return 3 in await effect_counts(bus)

    try:
        await wait_for(flowed)
    finally:
        runner.stop()
        await task
    assert await effect_counts(bus) == {1: 1, 3: 1}
    dead = await read_all(bus.bootstrap, dlq_topic(bus.topic), 2)
    assert len(dead) == 2
    first = dict(dead[0].headers)
    assert first["ce_id"] == poison.id.encode()
    assert first["x-error"] == b"cannot route this message"
    assert first["x-error-type"] == b"ValueError"
    assert first["x-origin-topic"] == bus.topic.encode()
    assert first["x-attempts"] == b"3"
    assert dead[0].key == b"thread-1"
    assert attempts[2] >= 3  # the retry budget was spent (plus the batch try, if any)
    second = dict(dead[1].headers)
    assert second["x-error-type"] == b"_PoisonError"
    assert dead[1].value == b"{not json"


async def test_outbox_rolled_back_transaction_publishes_nothing(bus: Bus) -> None:
    sessions = session_factory(bus.engine)
    discarded = bus.envelope(1, "rolled back")
    async with sessions() as session:
        await add_to_outbox(session, bus.tables, discarded)
        await session.rollback()
    kept = bus.envelope(2, "committed")
    async with sessions() as session, session.begin():
        await add_to_outbox(session, bus.tables, kept)
    relay = OutboxRelay(
        service="test",
        sessions=sessions,
        tables=bus.tables,
        producer=bus.producer,
        bootstrap=bus.bootstrap,
    )
    await relay.recover()
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0
    await relay.release()
    records = await read_all(bus.bootstrap, bus.topic, 1)
    assert [dict(record.headers)["ce_id"] for record in records] == [kept.id.encode()]


async def test_a_leading_relay_sends_the_records_handed_over_and_reads_only_the_rest(
    bus: Bus,
) -> None:
    from prometheus_client import REGISTRY

    sessions = session_factory(bus.engine)
    service = f"handover-{uuid.uuid4().hex[:8]}"
    outbox = bus.tables.outbox
    relay = OutboxRelay(
        service=service,
        sessions=sessions,
        tables=bus.tables,
        producer=bus.producer,
        bootstrap=bus.bootstrap,
    )
    # Written before any relay of this process leads: kept by nobody, read back in full.
    before = bus.envelope(1, "escrito antes de que el relé liderase", key="thread-a")
    async with sessions() as session, session.begin():
        await add_to_outbox(session, bus.tables, before)
    assert await relay.acquire()
    assert HANDOVER.waiting(outbox) == 0
    rolled_back = bus.envelope(2, "rolled back", key="thread-b")
    async with sessions() as session:
        await add_many_to_outbox(session, bus.tables, [rolled_back])
        await session.rollback()
    assert HANDOVER.waiting(outbox) == 0  # nothing of a rolled-back transaction
    committed = [
        bus.envelope(n, f"¿Dónde está mi pedido {n}? / where is my order {n}?", key=f"thread-{n}")
        for n in range(3, 8)
    ]
    async with sessions() as session, session.begin():
        await add_many_to_outbox(session, bus.tables, committed)
    assert HANDOVER.waiting(outbox) == len(committed)
    try:
        assert await relay.relay_once() == 1 + len(committed)
        assert await relay.relay_once() == 0
    finally:
        await relay.release()
    handed = REGISTRY.get_sample_value("socialcare_outbox_handed_over_total", {"service": service})
    assert handed == len(committed)
    assert HANDOVER.waiting(outbox) == 0
    records = await read_all(bus.bootstrap, bus.topic, 1 + len(committed))
    sent = {dict(record.headers)["ce_id"].decode(): record for record in records}
    assert set(sent) == {envelope.id for envelope in [before, *committed]}
    for envelope in [before, *committed]:  # handed over or read back: the same record
        key, value, headers = envelope.to_kafka()
        record = sent[envelope.id]
        assert (record.key, record.value, list(record.headers)) == (key, value, headers)


def test_the_handover_keeps_records_only_for_an_open_table_and_within_its_limit() -> None:
    handover = Handover(limit=2)
    metadata = MetaData()
    outbox = define_bus_tables(metadata).outbox
    record = ("topic", b"key", b"{}", [("ce_id", b"1")])
    handover.add([(outbox, "e1", record)])
    assert handover.waiting(outbox) == 0  # no relay leads: nothing kept
    handover.open(outbox)
    handover.add([(outbox, f"e{n}", record) for n in range(1, 4)])
    assert handover.waiting(outbox) == 2  # the oldest went first
    assert set(handover.take(outbox, ["e1", "e2", "e3", "e9"])) == {"e2", "e3"}
    assert handover.take(outbox, ["e2"]) == {}  # taken once
    handover.add([(outbox, "e4", record)])
    handover.close(outbox)
    assert handover.waiting(outbox) == 0
    assert handover.take(outbox, ["e4"]) == {}


def test_the_handover_drops_records_never_asked_for_once_past_their_age() -> None:
    handover = Handover(limit=100, max_age=0.05)
    outbox = define_bus_tables(MetaData()).outbox
    record = ("topic", b"key", b"{}", [("ce_id", b"1")])
    handover.open(outbox)
    handover.add([(outbox, "published-from-the-table", record)])  # the relay read its row
    time.sleep(0.06)
    handover.add([(outbox, "fresh", record)])
    assert set(handover.take(outbox, [])) == set()
    assert handover.waiting(outbox) == 1  # the old one went, the fresh one stays
    assert set(handover.take(outbox, ["fresh"])) == {"fresh"}


class CrashAfterSendProducer(EventProducer):
    """The broker acknowledges, then the relay dies before it can mark the rows."""

    async def send_many(
        self,
        records: list[tuple[str, bytes | None, bytes, Headers]],
        *,
        within: float | None = None,
    ) -> list[RecordMetadata]:
        await super().send_many(records, within=within)
        raise SimulatedCrashError


async def test_outbox_relay_crash_between_send_and_mark_publishes_exactly_once(bus: Bus) -> None:
    sessions = session_factory(bus.engine)
    before = bus.envelope(0, "published and marked earlier")
    async with sessions() as session, session.begin():
        await add_to_outbox(session, bus.tables, before)
    healthy = OutboxRelay(
        service="test",
        sessions=sessions,
        tables=bus.tables,
        producer=bus.producer,
        bootstrap=bus.bootstrap,
    )
    assert await healthy.relay_once() == 1
    await healthy.release()  # another replica may publish now

    envelopes = [bus.envelope(n) for n in range(1, 6)]
    async with sessions() as session, session.begin():
        for envelope in envelopes:
            await add_to_outbox(session, bus.tables, envelope)
    crashing_producer = CrashAfterSendProducer(bus.bootstrap, client_id="crashing")
    await crashing_producer.start()
    try:
        crashing = OutboxRelay(
            service="test",
            sessions=sessions,
            tables=bus.tables,
            producer=crashing_producer,
            bootstrap=bus.bootstrap,
        )
        with pytest.raises(SimulatedCrashError):
            await crashing.relay_once()
        await crashing.release()  # the process died: its connections, and so its lease, went
    finally:
        await crashing_producer.stop()
    assert await pending_count(bus) == 5

    restarted = OutboxRelay(
        service="test",
        sessions=sessions,
        tables=bus.tables,
        producer=bus.producer,
        bootstrap=bus.bootstrap,
    )
    assert await restarted.recover() == 5
    assert await restarted.relay_once() == 0
    await restarted.release()
    records = await read_all(bus.bootstrap, bus.topic, 6)
    ids = [dict(record.headers)["ce_id"].decode() for record in records]
    assert ids == [before.id, *(envelope.id for envelope in envelopes)]
    async with bus.engine.connect() as connection:
        unmarked = await connection.scalar(
            select(func.count())
            .select_from(bus.tables.outbox)
            .where(bus.tables.outbox.c.published_at.is_(None))
        )
    assert unmarked == 0


async def test_raw_aiokafka_interop_envelope_is_binary_mode(bus: Bus) -> None:
    """A plain Kafka client sees the payload as JSON and the attributes as ce_ headers."""
    raw = AIOKafkaProducer(bootstrap_servers=bus.bootstrap)
    await raw.start()
    try:
        key, value, headers = bus.envelope(5, "Great service, thanks!").to_kafka()
        await raw.send_and_wait(bus.topic, value=value, key=key, headers=headers)
    finally:
        await raw.stop()
    (record,) = await read_all(bus.bootstrap, bus.topic, 1)
    assert Ping.model_validate_json(record.value) == Ping(n=5, text="Great service, thanks!")
    assert datetime.fromisoformat(dict(record.headers)["ce_time"].decode()).tzinfo is not None


class JitteryProducer(EventProducer):
    """A replica that is sometimes slow between reading its batch and sending it (a GC pause,
    a busy event loop, a slower network path)."""

    async def send_many(
        self,
        records: list[tuple[str, bytes | None, bytes, Headers]],
        *,
        within: float | None = None,
    ) -> list[RecordMetadata]:
        await asyncio.sleep(random.uniform(0, 0.03))
        return await super().send_many(records, within=within)


async def test_two_relays_keep_every_threads_events_in_order(bus: Bus) -> None:
    """Two replicas' relays over one outbox: a thread's events leave in the order they were
    stored (routing's case events depend on it), each once, also when the relay that was
    publishing stops and the other takes over."""
    sessions = session_factory(bus.engine)
    threads = [f"brand-1:x:thread-{t}" for t in range(4)]
    envelopes = [bus.envelope(n, key=threads[n % len(threads)]) for n in range(600)]
    producers = [JitteryProducer(bus.bootstrap, client_id=f"replica-{n}") for n in (1, 2)]
    for producer in producers:
        await producer.start()
    relays = [
        OutboxRelay(
            service="test",
            sessions=sessions,
            tables=bus.tables,
            producer=producer,
            bootstrap=bus.bootstrap,
            batch_size=20,
            poll_interval=0.01,
        )
        for producer in producers
    ]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]

    async def pending_below(limit: int) -> bool:
        return await pending_count(bus) < limit

    try:
        await asyncio.sleep(0.5)  # both relays are polling
        for start in range(0, len(envelopes), 50):  # stored by many transactions, as requests do
            async with sessions() as session, session.begin():
                for envelope in envelopes[start : start + 50]:
                    await add_to_outbox(session, bus.tables, envelope)
            for relay in relays:
                relay.notify()
        await wait_for(lambda: pending_below(300))
        for relay in relays:  # whichever was publishing stops; the other one carries on
            if relay.leading:
                relay.stop()
        await wait_for(lambda: pending_below(1))
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.gather(*tasks)
        for producer in producers:
            await producer.stop()
    records = await read_all(bus.bootstrap, bus.topic, len(envelopes))
    ids = [dict(record.headers)["ce_id"].decode() for record in records]
    assert sorted(ids) == sorted(envelope.id for envelope in envelopes)  # each exactly once
    for thread in threads:
        numbers = [
            Ping.model_validate_json(record.value).n
            for record in records
            if record.key == thread.encode()
        ]
        assert numbers == sorted(numbers), f"{thread} out of order"


class RefusingProducer(EventProducer):
    """Kafka refuses everything (a broker that answers but cannot take writes)."""

    async def send_many(
        self,
        records: list[tuple[str, bytes | None, bytes, Headers]],
        *,
        within: float | None = None,
    ) -> list[RecordMetadata]:
        raise KafkaConnectionError("refused")


async def test_a_relay_that_cannot_publish_reports_itself_stuck_until_it_can(bus: Bus) -> None:
    """Readiness asks `stuck()`: a relay failing pass after pass says so, and says it no more
    once its rows leave."""
    sessions = session_factory(bus.engine)
    async with sessions() as session, session.begin():
        await add_to_outbox(session, bus.tables, bus.envelope(1))
    refusing = RefusingProducer(bus.bootstrap, client_id="refusing")
    await refusing.start()
    relay = OutboxRelay(
        service="test-stuck",
        sessions=sessions,
        tables=bus.tables,
        producer=refusing,
        bootstrap=bus.bootstrap,
        stall_seconds=1.0,
    )
    task = asyncio.create_task(relay.run())
    try:

        async def reported() -> bool:
            return relay.stuck() is not None

        await wait_for(reported, within=10)
        assert "refused" in (relay.stuck() or "")
        relay.producer = bus.producer

        async def published() -> bool:
            return relay.stuck() is None and await pending_count(bus) == 0

        await wait_for(published, within=15)
    finally:
        relay.stop()
        await task
        await refusing.stop()


async def test_a_large_poll_is_parsed_and_prepared_off_the_event_loop(bus: Bus) -> None:
    """A poll of `offload_records` or more is parsed and prepared in a thread: the event loop
    (where the previous poll's transaction runs) goes on meanwhile, and every event is still
    handled once."""
    total = 20
    await bus.producer.publish(*(bus.envelope(n) for n in range(total)))
    ticks = 0
    ticks_while_preparing: list[int] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    def prepare(groups: Mapping[str, list[Envelope]]) -> object:
        before = ticks
        time.sleep(0.2)  # CPU work of a large poll, as far as the event loop can tell
        ticks_while_preparing.append(ticks - before)
        return None

    async def batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await session.execute(
            insert(bus.effects),
            [{"event_id": envelope.id, "n": envelope.data.n} for envelope in envelopes],  # type: ignore[attr-defined]
        )

    runner = runner_for(
        bus,
        batch_handler=batch,
        max_batch=5,
        prepare=prepare,
        claim_events=False,
        offload_records=1,
    )
    ticking = asyncio.create_task(ticker())
    task = asyncio.create_task(runner.run())

    async def all_done() -> bool:
        return len(await effect_counts(bus)) == total

    try:
        await wait_for(all_done)
    finally:
        runner.stop()
        await task
        ticking.cancel()
    assert await effect_counts(bus) == dict.fromkeys(range(total), 1)
    assert ticks_while_preparing
    # In the loop, a 0.2 s block lets no tick through; in a thread, most of its 40 do.
    assert min(ticks_while_preparing) >= 5, ticks_while_preparing


async def test_a_polls_preparation_reaches_its_handlers_but_never_a_retry(bus: Bus) -> None:
    """`prepare` works a poll out before its transaction; the batch handler gets the result
    for exactly the envelopes it was made from, and a retry of a failed poll goes without."""
    total = 30
    await bus.producer.publish(*(bus.envelope(n) for n in range(total)))
    prepared_polls: list[list[int]] = []
    seen: list[tuple[list[int], object]] = []
    failed = False

    def prepare(groups: Mapping[str, list[Envelope]]) -> object:
        numbers = [envelope.data.n for envelope in groups[bus.event_type]]  # type: ignore[attr-defined]
        prepared_polls.append(numbers)
        return {"numbers": numbers, "group": groups[bus.event_type]}

    async def batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        nonlocal failed
        numbers = [envelope.data.n for envelope in envelopes]  # type: ignore[attr-defined]
        seen.append((numbers, prepared_for(session)))
        if 12 in numbers and not failed:
            failed = True
            raise RuntimeError("the database refused the poll once")
        await session.execute(
            insert(bus.effects),
            [{"event_id": envelope.id, "n": envelope.data.n} for envelope in envelopes],  # type: ignore[attr-defined]
        )

    runner = runner_for(bus, batch_handler=batch, max_batch=10, prepare=prepare, claim_events=False)
    task = asyncio.create_task(runner.run())

    async def all_done() -> bool:
        return len(await effect_counts(bus)) == total

    try:
        await wait_for(all_done)
    finally:
        runner.stop()
        await task
    assert await effect_counts(bus) == dict.fromkeys(range(total), 1)
    first_attempts = [(numbers, value) for numbers, value in seen if value is not None]
    retries = [numbers for numbers, value in seen if value is None]
    # Every poll's first attempt had its own preparation: the same envelopes, the same list.
    assert [numbers for numbers, _ in first_attempts] == prepared_polls
    for numbers, value in first_attempts:
        assert isinstance(value, dict)
        assert value["numbers"] == numbers
    # The failed poll was retried (by partition) with nothing prepared.
    failed_poll = next(numbers for numbers in prepared_polls if 12 in numbers)
    assert retries == [failed_poll]
    # claim_events=False: no dedupe row per event.
    processed = bus.tables.processed_events
    async with bus.engine.connect() as connection:
        claimed = await connection.scalar(
            select(func.count())
            .select_from(processed)
            .where(processed.c.consumer == f"group-{bus.topic}")
        )
    assert claimed == 0
