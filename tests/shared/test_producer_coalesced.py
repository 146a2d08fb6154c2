"""Coalesced publishing against the real broker: every caller acknowledged, every record on
its key's partition exactly once, errors reported to every caller of a failed batch."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY
from pydantic import BaseModel

from shared.bus.admin import ensure_topics
from shared.bus.producer import EventProducer
from shared.events.envelope import Envelope
from shared.events.registry import EventType, register

pytestmark = pytest.mark.integration


class Note(BaseModel):
    n: int
    text: str


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[int, Envelope]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        records: list[tuple[int, Envelope]] = []
        async with asyncio.timeout(30):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    for message in messages:
                        headers = [(name, value) for name, value in message.headers]
                        envelope = Envelope.from_kafka(message.key, message.value, headers)
                        records.append((message.partition, envelope))
        return records
    finally:
        await consumer.stop()


def _coalesced_records() -> float:
    """Records sent through coalesced batches so far (the histogram's sum)."""
    return REGISTRY.get_sample_value("socialcare_producer_coalesced_batch_records_sum") or 0.0


@pytest.fixture
async def topic(kafka_bootstrap: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    name, event_type = f"test.coalesced.{suffix}", f"test.note.{suffix}"
    register(EventType(event_type, name, Note, "tests"))
    await ensure_topics(kafka_bootstrap, [name], partitions=3)
    return name, event_type


async def test_concurrent_callers_are_acknowledged_and_land_once_on_their_partition(
    kafka_bootstrap: str, topic: tuple[str, str]
) -> None:
    name, event_type = topic
    producer = EventProducer(kafka_bootstrap, client_id="test-coalesced")
    await producer.start()
    sent_before = _coalesced_records()
    keys = [f"connection-{index}" for index in range(7)]
    # Every 20th body is ~60 KiB: a burst overflows one producer batch, so that path runs too.
    envelopes = [
        Envelope(
            type=event_type,
            source="/tests",
            key=keys[index % len(keys)],
            data=Note(n=index, text=("¿Dónde está mi pedido? " * 2500 if index % 20 == 0 else "")),
        )
        for index in range(400)
    ]
    try:
        await asyncio.gather(*(producer.publish(envelope) for envelope in envelopes))
    finally:
        await producer.stop()
    assert _coalesced_records() - sent_before == 400

    records = await _read_all(kafka_bootstrap, name, 400)
    assert sorted(envelope.data.n for _, envelope in records) == list(range(400))  # type: ignore[attr-defined]
    partitioner = DefaultPartitioner()
    for partition, envelope in records:
        expected = partitioner(envelope.key.encode(), [0, 1, 2], [0, 1, 2])
        assert partition == expected, f"{envelope.key} went to {partition}, not {expected}"
    # Per key, records keep the order in which the callers handed them over.
    for key in keys:
        ns = [envelope.data.n for _, envelope in records if envelope.key == key]  # type: ignore[attr-defined]
        assert ns == sorted(ns)


async def test_callers_see_the_error_when_the_producer_cannot_send(
    kafka_bootstrap: str, topic: tuple[str, str]
) -> None:
    _name, event_type = topic
    producer = EventProducer(kafka_bootstrap, client_id="test-coalesced-closed")
    await producer.start()
    await producer.stop()
    envelope = Envelope(type=event_type, source="/tests", key="k", data=Note(n=1, text="hola"))
    results = await asyncio.gather(
        *(producer.publish(envelope) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, KafkaError) for result in results), results


async def test_publish_reports_where_each_event_landed(
    kafka_bootstrap: str, topic: tuple[str, str]
) -> None:
    name, event_type = topic
    producer = EventProducer(kafka_bootstrap, client_id="test-coalesced-many")
    await producer.start()
    envelopes = [
        Envelope(type=event_type, source="/tests", key=f"thread-{n % 5}", data=Note(n=n, text="ok"))
        for n in range(300)
    ]
    try:
        first, second = await asyncio.gather(
            producer.publish(*envelopes[:150]), producer.publish(*envelopes[150:])
        )
        assert await producer.send_many([]) == []
    finally:
        await producer.stop()
    landed = {
        envelope.id: (metadata.partition, metadata.offset)
        for envelope, metadata in zip(envelopes, first + second, strict=True)
    }
    assert len(set(landed.values())) == 300  # no two records claim the same place

    consumer = AIOKafkaConsumer(
        name, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: dict[str, tuple[int, int]] = {}
    try:
        async with asyncio.timeout(30):
            while len(seen) < 300:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    for message in messages:
                        ce_id = dict(message.headers)["ce_id"].decode()
                        seen[ce_id] = (message.partition, message.offset)
    finally:
        await consumer.stop()
    assert seen == landed


async def test_a_broken_sequence_is_healed_with_a_fresh_client(
    kafka_bootstrap: str, topic: tuple[str, str]
) -> None:
    """What a batch that expired during a broker restart leaves behind: a sequence number the
    broker never saw. The broker then refuses every later batch (OutOfOrderSequenceNumber); the
    producer must get going again by itself, with a new producer id."""
    name, event_type = topic
    producer = EventProducer(kafka_bootstrap, client_id="test-sequence-gap")
    await producer.start()

    def note(n: int) -> Envelope:
        return Envelope(type=event_type, source="/tests", key="k", data=Note(n=n, text="hola"))

    try:
        (first,) = await producer.publish(note(1))
        client = producer._producer
        client._txn_manager.increment_sequence_number(TopicPartition(name, first.partition), 3)
        with pytest.raises(KafkaError):
            await producer.publish(note(2))
        async with asyncio.timeout(20):
            while True:
                try:
                    await producer.publish(note(3))
                    break
                except KafkaError:
                    await asyncio.sleep(0.2)
        assert producer._producer is not client
        assert producer.healthy() is None
    finally:
        await producer.stop()
    records = await _read_all(kafka_bootstrap, name, 2)
    assert [envelope.data.n for _, envelope in records] == [1, 3]  # type: ignore[attr-defined]
