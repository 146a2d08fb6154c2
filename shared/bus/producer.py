"""The idempotent producer (acks=all) every service publishes through."""

from __future__ import annotations

import asyncio
import copy
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError, ProducerClosed
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata
from prometheus_client import Counter, Histogram

from shared.events.envelope import Envelope, Headers
from shared.events.registry import topic_for
from shared.events.topics import MAX_RECORD_BYTES

logger = structlog.get_logger("socialcare.bus")
PUBLISHED = Counter("socialcare_events_published_total", "Events published", ["topic", "type"])
COALESCED_BATCH = Histogram(
    "socialcare_producer_coalesced_batch_records",
    "Records per producer batch sent for coalesced publishers",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
# Room for a few dozen webhooks per producer batch (Kafka's default of 16 KiB holds a dozen).
MAX_BATCH_BYTES = 256 * 1024


@cache
def _published(topic: str, event_type: str) -> Counter:
    child: Counter = PUBLISHED.labels(topic, event_type)
    return child


Record = tuple[str, bytes | None, bytes, Headers]  # topic, key, value, headers


@dataclass(slots=True)
class _Pending:
    key: bytes | None
    value: bytes
    headers: Headers
    acked: asyncio.Future[RecordMetadata]


class _Coalescer:
    """Records from many callers, sent the way Kafka's own producer batches them.

    Records wait per partition while that partition's previous batch is on its way (Kafka
    keeps one request in flight per partition for an idempotent producer anyway), then leave
    together as closed producer batches (aiokafka's batch API): each record costs one append
    instead of a full `send`. Each record's future resolves with its partition and offset when
    the broker has acknowledged its batch, or fails with that batch's error. Records of one
    partition leave in the order they were handed over."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._queues: dict[tuple[str, int], list[_Pending]] = defaultdict(list)
        self._senders: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[tuple[str, bytes, int], int] = {}

    async def add(
        self, records: list[Record], *, within: float | None = None
    ) -> list[RecordMetadata]:
        """Queue `records` in order; return their metadata once all are acknowledged. With
        `within`, fail with KafkaTimeoutError when that many seconds pass first (the records
        may still be sent)."""
        loop = asyncio.get_running_loop()
        partitions = {
            topic: sorted(await self._producer.partitions_for(topic)) for topic, *_ in records
        }
        futures: list[asyncio.Future[RecordMetadata]] = []
        for topic, key, value, headers in records:
            acked: asyncio.Future[RecordMetadata] = loop.create_future()
            target = (topic, self._partition(topic, key, partitions[topic]))
            self._queues[target].append(_Pending(key, value, headers, acked))
            if target not in self._senders:
                self._senders[target] = asyncio.create_task(self._send(target))
            futures.append(acked)
        # A timer on the futures rather than asyncio.timeout(): a third of the cost per call.
        expiry = loop.call_later(within, _expire, futures) if within is not None else None
        try:
            if len(futures) == 1:
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
        finally:
            if expiry is not None:
                expiry.cancel()

    async def drain(self) -> None:
        """Wait until every record handed over so far is acknowledged or failed."""
        while self._senders:
            await asyncio.wait(set(self._senders.values()))

    async def _send(self, target: tuple[str, int]) -> None:
        """Send what the partition's queue holds, batch after batch, until it is empty."""
        topic, partition = target
        try:
            while records := self._queues.pop(target, None):
                try:
                    await self._send_batches(topic, partition, records)
                except Exception as exc:
                    _fail([record.acked for record in records], exc)
        finally:
            del self._senders[target]

    async def _send_batches(self, topic: str, partition: int, records: list[_Pending]) -> None:
        sent: list[tuple[asyncio.Future[RecordMetadata], list[tuple[_Pending, int]]]] = []
        batch = self._producer.create_batch()
        members: list[tuple[_Pending, int]] = []
        for record in records:
            appended = batch.append(
                timestamp=None, key=record.key, value=record.value, headers=record.headers
            )
            if appended is None:  # full: submit it and start the next (a first record always fits)
                sent.append((await self._submit(batch, topic, partition), members))
                batch, members = self._producer.create_batch(), []
                appended = batch.append(
                    timestamp=None, key=record.key, value=record.value, headers=record.headers
                )
            members.append((record, appended.offset))
        sent.append((await self._submit(batch, topic, partition), members))
        # Each batch settles its own records: one failing does not fail the others, and every
        # batch's outcome is collected (no "exception never retrieved").
        outcomes = await asyncio.gather(*(future for future, _ in sent), return_exceptions=True)
        for outcome, (_future, batch_members) in zip(outcomes, sent, strict=True):
            if isinstance(outcome, BaseException):
                _fail([record.acked for record, _ in batch_members], outcome)
                continue
            for record, relative in batch_members:
                if not record.acked.done():
                    record.acked.set_result(outcome._replace(offset=outcome.offset + relative))

    async def _submit(
        self, batch: BatchBuilder, topic: str, partition: int
    ) -> asyncio.Future[RecordMetadata]:
        COALESCED_BATCH.observe(batch.record_count())
        batch.close()  # complete: the sender takes it at once instead of lingering
        future: asyncio.Future[RecordMetadata] = await self._producer.send_batch(
            batch, topic, partition=partition
        )
        return future

    def _partition(self, topic: str, key: bytes | None, partitions: list[int]) -> int:
        """Kafka's default partition for `key` (murmur2; random without a key), as `send`
        would pick it."""
        if key is None:
            chosen: int = self._partitioner(None, partitions, partitions)
            return chosen
        cache_key = (topic, key, len(partitions))
        partition = self._partitions.get(cache_key)
        if partition is None:
            partition = self._partitioner(key, partitions, partitions)
            if len(self._partitions) > 10_000:
                self._partitions.clear()
            self._partitions[cache_key] = partition
        return partition


def _expire(futures: list[asyncio.Future[RecordMetadata]]) -> None:
    _fail(futures, KafkaTimeoutError("no acknowledgement from Kafka in time"))


def _fail(futures: list[asyncio.Future[RecordMetadata]], exc: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(copy.copy(exc))


class EventProducer:
    """Wraps AIOKafkaProducer; `publish` returns only once the broker has acknowledged."""

    def __init__(self, bootstrap: str, *, client_id: str, linger_ms: int = 2) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            enable_idempotence=True,  # implies acks=all; retries cannot duplicate or reorder
            linger_ms=linger_ms,
            request_timeout_ms=10000,
            max_request_size=MAX_RECORD_BYTES,
            max_batch_size=MAX_BATCH_BYTES,
        )
        self._coalescer = _Coalescer(self._producer)
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._coalescer.drain()
            await self._producer.stop()
            self._started = False

    @property
    def started(self) -> bool:
        return self._started

    async def partitions_for(self, topic: str) -> set[int]:
        partitions: set[int] = await self._producer.partitions_for(topic)
        return partitions

    async def publish(self, envelope: Envelope, *, topic: str | None = None) -> RecordMetadata:
        key, value, headers = envelope.to_kafka()
        target = topic or topic_for(envelope.type)
        metadata = await self.send(target, key, value, headers)
        _published(target, envelope.type).inc()
        return metadata

    async def publish_coalesced(self, envelope: Envelope, *, within: float | None = None) -> None:
        """Like `publish`, for many concurrent callers publishing one event each (request
        handlers): events handed over while a partition's previous batch is on its way leave
        together. Returns once the broker has acknowledged this event; raises the producer's
        error otherwise, or KafkaTimeoutError after `within` seconds."""
        key, value, headers = envelope.to_kafka()
        topic = topic_for(envelope.type)
        await self.send_many([(topic, key, value, headers)], within=within)
        _published(topic, envelope.type).inc()

    async def enqueue(self, envelope: Envelope) -> asyncio.Future[RecordMetadata]:
        """Hand the record to the producer's batch; await the returned future for the ack."""
        key, value, headers = envelope.to_kafka()
        topic = topic_for(envelope.type)
        future: asyncio.Future[RecordMetadata] = await self._producer.send(
            topic, value=value, key=key, headers=headers
        )
        PUBLISHED.labels(topic, envelope.type).inc()
        return future

    async def publish_many(self, envelopes: list[Envelope]) -> list[RecordMetadata]:
        """Publish in order (per partition), batched: one wait for all acknowledgements."""
        records: list[Record] = []
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            records.append((topic_for(envelope.type), key, value, headers))
        results = await self.send_many(records)
        for envelope, (topic, *_rest) in zip(envelopes, records, strict=True):
            _published(topic, envelope.type).inc()
        return results

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers
    ) -> RecordMetadata:
        """Send a ready record and wait for the broker's acknowledgement."""
        (metadata,) = await self.send_many([(topic, key, value, headers)])
        return metadata

    async def send_many(
        self, records: list[Record], *, within: float | None = None
    ) -> list[RecordMetadata]:
        """Send ready records (in order per partition) in producer batches, together with
        whatever other callers are sending; return each one's metadata once all are
        acknowledged, or raise the producer's error."""
        if not self._started:
            raise ProducerClosed()  # a stopped client would wait on metadata forever
        if not records:
            return []
        return await self._coalescer.add(records, within=within)
