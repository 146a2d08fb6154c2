"""A Kafka outage under load: the broker stops for 20 s while signed webhooks keep coming.

Nothing acknowledged is lost or duplicated (read back from the interactions table and with a
plain Kafka consumer), webhooks are accepted again within 30 s of the restart, and `/readyz`
says "not ready" in between. A broker of its own, so the rest of the suite is not disturbed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr
from sqlalchemy import select

from scripts.infra import KafkaBroker, free_port
from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from services.ingest.models import InteractionRecord
from services.ingest.platforms.signatures import meta_signature
from shared.db import create_engine
from shared.events.envelope import Envelope
from shared.events.topics import INTERACTIONS
from tests.conftest import serve
from tests.fixtures.services import migrated_database
from tests.ingest.test_ingest_api import APP_SECRET, SECRET, Ingest, feed_comment

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 20
PAGE = "4242"


@dataclass
class Traffic:
    """What the platform saw: which deliveries were acknowledged, which refused, and when."""

    acknowledged: dict[str, float] = field(default_factory=dict)
    refused: dict[str, float] = field(default_factory=dict)
    readiness: list[tuple[float, int]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def _post(client: httpx.AsyncClient, url: str, comment_id: str) -> int:
    body = json.dumps(feed_comment(PAGE, comment_id, f"¿Dónde está mi pedido? {comment_id}"))
    try:
        response = await client.post(
            url,
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(body.encode(), APP_SECRET),
            },
        )
    except httpx.HTTPError:
        return 0
    return response.status_code


async def _stream(client: httpx.AsyncClient, url: str, traffic: Traffic, lane: int) -> None:
    """One of a few platform senders: a new comment every 50 ms, each sent once."""
    n = 0
    while not traffic.stop.is_set():
        n += 1
        comment_id = f"{PAGE}_555_{lane}{n:05d}"
        status = await _post(client, url, comment_id)
        now = time.monotonic()
        if status == 200:
            traffic.acknowledged[comment_id] = now
        else:
            assert status in (0, 503), status
            traffic.refused[comment_id] = now
        await asyncio.sleep(0.05)


async def _watch_readiness(client: httpx.AsyncClient, url: str, traffic: Traffic) -> None:
    while not traffic.stop.is_set():
        try:
            status = (await client.get(f"{url}/readyz", timeout=10)).status_code
        except httpx.HTTPError:
            status = 0
        traffic.readiness.append((time.monotonic(), status))
        await asyncio.sleep(0.25)


async def _interaction_events(bootstrap: str, brand_id: str, at_least: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        INTERACTIONS, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        deadline = time.monotonic() + 30
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                quiet_since = time.monotonic()
                for record in records:
                    envelope = Envelope.from_kafka(record.key, record.value, list(record.headers))
                    if getattr(envelope.data, "brand_id", None) == brand_id:
                        found.append(envelope)
            # Enough, and nothing more for 2 s: a duplicate would have shown up by now.
            if len(found) >= at_least and time.monotonic() - quiet_since > 2:
                break
    finally:
        await consumer.stop()
    return found


async def test_a_20_s_broker_outage_loses_and_duplicates_nothing_and_ingest_recovers(
    postgres_url: str, tmp_path: Path
) -> None:
    broker = KafkaBroker(tmp_path / "kafka", free_port(), free_port())
    await asyncio.to_thread(broker.start)
    database = await migrated_database(postgres_url, "ingest")
    settings = IngestSettings(
        database_url=database,
        kafka_bootstrap=broker.bootstrap,
        internal_secret=SecretStr(SECRET),
        outbox_poll_interval_seconds=0.05,
        webhook_ack_timeout_seconds=2.0,
    )
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    traffic = Traffic()
    try:
        async with serve(create_app(settings)) as url, httpx.AsyncClient(timeout=30) as client:
            ingest = Ingest(url, client, broker.bootstrap)
            connection_id = await ingest.connection("meta", brand, [PAGE])
            webhook = f"{url}/v1/webhooks/meta/{connection_id}"
            tasks = [
                asyncio.create_task(_stream(client, webhook, traffic, lane)) for lane in (1, 2, 3)
            ]
            tasks.append(asyncio.create_task(_watch_readiness(client, url, traffic)))
            try:
                await asyncio.sleep(3)
                assert traffic.acknowledged, "nothing was accepted before the outage"
                assert traffic.readiness
                assert traffic.readiness[-1][1] == 200

                await asyncio.to_thread(broker.stop)
                stopped = time.monotonic()
                await asyncio.sleep(OUTAGE_SECONDS)
                await asyncio.to_thread(broker.start)
                restarted = time.monotonic()

                # Accepted again within 30 s of the restart (a delivery sent after it).
                while time.monotonic() - restarted < 30:
                    if any(at > restarted for at in traffic.acknowledged.values()):
                        break
                    await asyncio.sleep(0.2)
                recovered = min(
                    (at for at in traffic.acknowledged.values() if at > restarted), default=None
                )
                assert recovered is not None, "no webhook accepted within 30 s of the restart"
                await asyncio.sleep(2)
            finally:
                traffic.stop.set()
                await asyncio.gather(*tasks)

            # Readiness: ready before, not ready while the broker was away, ready again after.
            # (A probe answered within a second of the stop may have started before it.)
            during = [status for at, status in traffic.readiness if stopped + 1 < at < restarted]
            assert len(during) > 10
            assert 200 not in during, during
            ready_again = await client.get(f"{url}/readyz")
            assert ready_again.status_code == 200, ready_again.text
            assert traffic.refused, "the outage refused nothing: it did not happen"

            # The platform retries what was refused: each is accepted now, once.
            for comment_id in list(traffic.refused):
                assert await _post(client, webhook, comment_id) == 200
            delivered = set(traffic.acknowledged) | set(traffic.refused)

            events = await _interaction_events(broker.bootstrap, brand, len(delivered))
        received = Counter(
            getattr(event.data, "external_id", None)
            for event in events
            if event.type == "interaction.received"
        )
        assert set(received) == delivered, set(traffic.acknowledged) - set(received)
        duplicated = {external_id: n for external_id, n in received.items() if n > 1}
        assert not duplicated, duplicated
        assert len({event.id for event in events}) == len(events)  # no event published twice

        engine = create_engine(database, schema="ingest")
        try:
            async with engine.connect() as connection:
                stored = (
                    await connection.scalars(
                        select(InteractionRecord.external_id).where(
                            InteractionRecord.brand_id == brand
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        assert sorted(stored) == sorted(delivered)
        assert recovered - restarted < 30
    finally:
        await asyncio.to_thread(broker.stop)
