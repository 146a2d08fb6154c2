"""The idempotent producer (acks=all) every service publishes through."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from prometheus_client import Counter

from shared.events.envelope import Envelope, Headers
from shared.events.registry import topic_for
from shared.events.topics import MAX_RECORD_BYTES

logger = structlog.get_logger("socialcare.bus")
PUBLISHED = Counter("socialcare_events_published_total", "Events published", ["topic", "type"])


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
        )
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
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
        PUBLISHED.labels(target, envelope.type).inc()
        return metadata

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
        """Publish in order, pipelined: one wait for all acknowledgements."""
        records: list[tuple[str, bytes | None, bytes, Headers]] = []
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            records.append((topic_for(envelope.type), key, value, headers))
        results = await self.send_many(records)
        for envelope in envelopes:
            PUBLISHED.labels(topic_for(envelope.type), envelope.type).inc()
        return results

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers
    ) -> RecordMetadata:
        """Send a ready record and wait for the broker's acknowledgement."""
        return await self._producer.send_and_wait(topic, value=value, key=key, headers=headers)

    async def send_many(
        self, records: list[tuple[str, bytes | None, bytes, Headers]]
    ) -> list[RecordMetadata]:
        """Send records in order, pipelined, then wait for every acknowledgement."""
        futures = [
            await self._producer.send(topic, value=value, key=key, headers=headers)
            for topic, key, value, headers in records
        ]
        return [await future for future in futures]
