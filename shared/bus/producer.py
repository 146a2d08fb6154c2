"""The idempotent producer (acks=all) every service publishes through.

It recovers by itself from a broker outage. aiokafka's idempotent producer numbers each
partition's batches; when one numbered batch fails for good (it expired with no leader while the
broker restarted, or the broker refused it), the next one is out of order and the broker refuses
it, and every later one, with `OutOfOrderSequenceNumber` — the client never starts a new sequence
by itself. So any failed batch, a batch left unacknowledged for `stall_seconds`, or aiokafka's
sender task dying retires the whole client: its waiting callers get an error at once (webhooks
are refused and retried by the platform, the outbox relay tries again), and a fresh client with
a new producer id takes over as soon as the broker answers. Until then `healthy()` says no, and
so does the service's readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, ProducerClosed
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
REPLACED = Counter(
    "socialcare_producer_replaced_total",
    "Kafka clients retired and replaced by a fresh one after a failure",
    ["reason"],
)
# How long a topic's partition list is reused before the client's metadata is asked again
# (partitions are added to a topic rarely, and by an operator).
PARTITIONS_TTL = 10.0
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
    partition leave in the order they were handed over.

    `on_failure` hears of every batch that failed; `retire` fails every record still waiting
    (the client behind it is being replaced), so no caller waits on a client that is gone."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        on_failure: Callable[[_Coalescer, BaseException], None] | None = None,
    ) -> None:
        self._producer = producer
        self._on_failure = on_failure
        self._queues: dict[tuple[str, int], list[_Pending]] = defaultdict(list)
        self._senders: dict[tuple[str, int], asyncio.Task[None]] = {}
        # The records each partition's sender has on their way, and since when.
        self._in_flight: dict[tuple[str, int], tuple[float, list[_Pending]]] = {}
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[tuple[str, bytes, int], int] = {}
        self._topic_partitions: dict[str, tuple[float, list[int]]] = {}
        self._retired: BaseException | None = None

    async def add(
        self, records: list[Record], *, within: float | None = None
    ) -> list[RecordMetadata]:
        """Queue `records` in order; return their metadata once all are acknowledged. With
        `within`, fail with KafkaTimeoutError when that many seconds pass first (the records
        may still be sent)."""
        loop = asyncio.get_running_loop()
        if len(records) == 1:  # the common case: one request handler's one event
            partitions = {records[0][0]: await self._partitions_of(records[0][0])}
        else:  # once per topic, not per record: a burst of 20,000 records is one or two topics
            partitions = {
                topic: await self._partitions_of(topic) for topic in {r[0] for r in records}
            }
        if self._retired is not None:
            raise copy.copy(self._retired)
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

    async def _partitions_of(self, topic: str) -> list[int]:
        """The topic's partitions, sorted; looked up in the client's metadata (a coroutine and
        a new set each time) only every PARTITIONS_TTL seconds."""
        now = time.monotonic()
        known = self._topic_partitions.get(topic)
        if known is not None and now - known[0] < PARTITIONS_TTL:
            return known[1]
        partitions = sorted(await self._producer.partitions_for(topic))
        self._topic_partitions[topic] = (now, partitions)
        return partitions

    async def drain(self) -> None:
        """Wait until every record handed over so far is acknowledged or failed."""
        while self._senders:
            await asyncio.wait(set(self._senders.values()))

    def oldest_in_flight(self) -> float | None:
        """Seconds the longest-waiting batch has been on its way; None when nothing is."""
        if not self._in_flight:
            return None
        return time.monotonic() - min(since for since, _ in self._in_flight.values())

    def retire(self, exc: BaseException) -> None:
        """Fail every record queued or on its way with `exc`; refuse new ones."""
        self._retired = exc
        waiting = [record.acked for records in self._queues.values() for record in records]
        waiting += [r.acked for _, records in self._in_flight.values() for r in records]
        self._queues.clear()
        _fail(waiting, exc)

    async def _send(self, target: tuple[str, int]) -> None:
        """Send what the partition's queue holds, batch after batch, until it is empty."""
        topic, partition = target
        try:
            while records := self._queues.pop(target, None):
                # A caller already answered (its `within` expired: a webhook refused with 503)
                # is not sent after all: it would only come back as a duplicate of the retry.
                records = [record for record in records if not record.acked.done()]
                if not records:
                    continue
                self._in_flight[target] = (time.monotonic(), records)
                try:
                    await self._send_batches(topic, partition, records)
                except Exception as exc:
                    _fail([record.acked for record in records], exc)
                    if not isinstance(exc, KafkaTimeoutError | ProducerClosed):
                        self._failed(exc)
                finally:
                    self._in_flight.pop(target, None)
        finally:
            del self._senders[target]

    def _failed(self, exc: BaseException) -> None:
        if self._on_failure is not None and self._retired is None:
            self._on_failure(self, exc)

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
                self._failed(outcome)
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


class ProducerUnhealthyError(KafkaConnectionError):  # type: ignore[misc]
    """The producer cannot get records acknowledged now (readiness reports it)."""


class EventProducer:
    """Wraps AIOKafkaProducer; `publish` (events) and `send_many` (encoded records) return only
    once the broker has acknowledged.

    The client behind it is replaced after a failure (see the module docstring)."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str,
        linger_ms: int = 2,
        stall_seconds: float = 15.0,
        unready_after_seconds: float = 5.0,
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._linger_ms = linger_ms
        self.stall_seconds = stall_seconds
        self.unready_after_seconds = unready_after_seconds
        self._producer = self._new_client()
        self._coalescer = _Coalescer(self._producer, self._batch_failed)
        self._started = False
        self._replacing: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.replacements = 0

    def _new_client(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            enable_idempotence=True,  # implies acks=all; retries cannot duplicate or reorder
            linger_ms=self._linger_ms,
            request_timeout_ms=10000,
            max_request_size=MAX_RECORD_BYTES,
            max_batch_size=MAX_BATCH_BYTES,
        )

    async def start(self) -> None:
        await self._producer.start()
        self._started = True
        self._watchdog = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._started:
            self._started = False
            for task in (self._watchdog, self._replacing):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await self._coalescer.drain()
            await self._producer.stop()
            if self._closing:
                await asyncio.wait(self._closing, timeout=5)

    @property
    def started(self) -> bool:
        return self._started

    def healthy(self) -> str | None:
        """None when records are being acknowledged; otherwise why not (for readiness)."""
        if not self._started:
            return "stopped"
        if self._replacing is not None and not self._replacing.done():
            return "reconnecting to Kafka"
        waiting = self._coalescer.oldest_in_flight()
        if waiting is not None and waiting > self.unready_after_seconds:
            return f"a batch has waited {waiting:.0f} s for Kafka's acknowledgement"
        return None

    def check_healthy(self) -> None:
        """Raise ProducerUnhealthyError unless `healthy()`."""
        reason = self.healthy()
        if reason is not None:
            raise ProducerUnhealthyError(reason)

    async def _watch(self) -> None:
        """Replace a client whose batches stall or whose sender task died."""
        while True:
            await asyncio.sleep(min(1.0, self.stall_seconds / 4))
            if self._replacing is not None and not self._replacing.done():
                continue
            waiting = self._coalescer.oldest_in_flight()
            sender = getattr(getattr(self._producer, "_sender", None), "sender_task", None)
            if waiting is not None and waiting > self.stall_seconds:
                self._replace_client("stalled")
            elif sender is not None and sender.done():
                self._replace_client("sender_died")

    def _batch_failed(self, coalescer: _Coalescer, exc: BaseException) -> None:
        if coalescer is self._coalescer:
            logger.warning("producer_batch_failed", error=repr(exc))
            self._replace_client(type(exc).__name__)

    def _replace_client(self, reason: str) -> None:
        if not self._started or (self._replacing is not None and not self._replacing.done()):
            return
        REPLACED.labels(reason).inc()
        self.replacements += 1
        logger.warning("producer_replacing_client", reason=reason)
        old_client, old_coalescer = self._producer, self._coalescer
        old_coalescer.retire(KafkaConnectionError(f"the Kafka producer was reset ({reason})"))
        # A context of their own: not the request's (its request id) that saw the failure.
        closing = asyncio.create_task(_abandon(old_client), context=contextvars.Context())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        self._replacing = asyncio.create_task(self._reconnect(), context=contextvars.Context())

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            attempt += 1
            client = self._new_client()
            try:
                await client.start()
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await client.stop()
                raise
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await client.stop()
                if attempt == 1 or attempt % 10 == 0:
                    logger.warning("producer_reconnect_failed", attempt=attempt, error=str(exc))
                await asyncio.sleep(1.0)
                continue
            self._producer = client
            self._coalescer = _Coalescer(client, self._batch_failed)
            logger.info("producer_reconnected", attempts=attempt)
            return

    async def partitions_for(self, topic: str) -> set[int]:
        partitions: set[int] = await self._producer.partitions_for(topic)
        return partitions

    async def publish(
        self, *envelopes: Envelope, within: float | None = None
    ) -> list[RecordMetadata]:
        """Publish events to their topics (in order per partition), batched together with
        whatever other callers publish meanwhile (request handlers publishing one event each
        share producer batches). Returns each event's metadata once the broker has acknowledged
        them all; raises the producer's error otherwise, or KafkaTimeoutError after `within`
        seconds (the events may still be sent)."""
        records: list[Record] = []
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            records.append((topic_for(envelope.type), key, value, headers))
        results = await self.send_many(records, within=within)
        for envelope, (topic, *_rest) in zip(envelopes, records, strict=True):
            _published(topic, envelope.type).inc()
        return results

    async def send_many(
        self, records: list[Record], *, within: float | None = None
    ) -> list[RecordMetadata]:
        """Send records already encoded (outbox rows, dead-lettered copies) the way `publish`
        sends events: in order per partition, in producer batches shared with other callers;
        return each one's metadata once all are acknowledged, or raise the producer's error."""
        if not self._started:
            raise ProducerClosed()  # a stopped client would wait on metadata forever
        if not records:
            return []
        if self._replacing is not None and not self._replacing.done():
            raise ProducerUnhealthyError("the Kafka producer is reconnecting")
        return await self._coalescer.add(records, within=within)


async def _abandon(client: AIOKafkaProducer) -> None:
    """Close a retired client without waiting for its batches: they are failed first (its
    callers were already told), so closing does not wait for a broker that may be gone."""
    accumulator = getattr(client, "_message_accumulator", None)
    if accumulator is not None:
        accumulator.fail_all(KafkaConnectionError("the Kafka producer was reset"))
    try:
        async with asyncio.timeout(5):
            await client.stop()
    except Exception as exc:
        # Its sender may trip over the batches failed under it; the connections must go anyway.
        logger.info("retired_producer_close_failed", error=repr(exc))
        with contextlib.suppress(Exception):
            await client.client.close()
