"""Retries live in PostgreSQL: a restart in the middle of the schedule loses no delivery, and
replicas sharing one database never send one attempt twice (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from services.webhooks.signing import SecretBox
from shared.db import create_engine
from tests.fixtures.services import migrated_database
from tests.webhooks.conftest import case_event, envelope, new_brand, running_webhooks
from tests.webhooks.receiver import Behaviour, Receiver

pytestmark = pytest.mark.integration


async def test_a_restart_in_the_middle_of_the_schedule_loses_nothing(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    database = await migrated_database(postgres_url, "webhooks")
    group = f"webhooks-restart-{uuid.uuid4().hex[:8]}"
    brand = new_brand()
    path = "/restart"
    # The second attempt is due only after the restart.
    schedule = [0, 3.0, 0.2, 0.2]
    async with running_webhooks(
        postgres_url,
        kafka_bootstrap,
        database=database,
        consumer_group=group,
        retry_schedule_seconds=schedule,
    ) as first:
        _id, secret = await first.endpoint(receiver.at(path, Behaviour(then=503)), brand)
        events = [
            envelope("case.opened", case_event(brand), f"{brand}:x:t{index}") for index in range(5)
        ]
        await first.publish(*events)
        await receiver.wait_for(path, 5)  # every first attempt failed; the retries wait
    receiver.behaviours[path].then = 200
    assert len(receiver.on(path)) == 5
    async with running_webhooks(
        postgres_url,
        kafka_bootstrap,
        database=database,
        consumer_group=group,
        retry_schedule_seconds=schedule,
    ):
        received = await receiver.wait_for(path, 10, within=30)
        await asyncio.sleep(1.0)  # nothing more comes
    received = receiver.on(path)
    # Each event once before the restart (503) and once after (200), same webhook-id, and the
    # restarted consumer made no new delivery of events it had handled.
    assert Counter(item.webhook_id for item in received) == {event.id: 2 for event in events}
    assert all(item.verifies_with(secret) for item in received)


async def test_replicas_share_the_work_without_sending_twice(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    database = await migrated_database(postgres_url, "webhooks")
    group = f"webhooks-replicas-{uuid.uuid4().hex[:8]}"
    brand = new_brand()
    # Generous timeouts: a retry after a slow answer would be a (correct) second attempt.
    settings: dict[str, Any] = {
        "consumer_group": group,
        "request_timeout_seconds": 20.0,
        "claim_lease_seconds": 30.0,
    }
    async with (
        running_webhooks(postgres_url, kafka_bootstrap, database=database, **settings) as one,
        running_webhooks(postgres_url, kafka_bootstrap, database=database, **settings),
    ):
        paths = [f"/replica-{index}" for index in range(4)]
        for path in paths:
            await one.endpoint(receiver.at(path), brand)
        # Published at once: whichever replica consumes an event sees the endpoints.
        events = [
            envelope("case.updated", case_event(brand), f"{brand}:x:t{index}")
            for index in range(30)
        ]
        await one.publish(*events)
        for path in paths:
            await receiver.wait_for(path, len(events), within=30)
        await asyncio.sleep(1.0)
        attempts = await attempt_errors(database)
    assert attempts == [], attempts  # every attempt succeeded the first time
    for path in paths:
        ids = Counter(item.webhook_id for item in receiver.on(path))
        assert set(ids) == {event.id for event in events}
        assert max(ids.values()) == 1, path


async def attempt_errors(database: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database, schema="webhooks")
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT status_code, error FROM webhooks.attempts WHERE NOT succeeded")
            )
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


async def test_setting_a_secrets_key_keeps_stored_secrets_and_reseals_them(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    database = await migrated_database(postgres_url, "webhooks")
    brand = new_brand()
    path = "/resealed"
    # Sealed first with the key derived from the internal secret (no secrets key set).
    async with running_webhooks(postgres_url, kafka_bootstrap, database=database) as before:
        _id, secret = await before.endpoint(receiver.at(path), brand)
    dedicated = "webhooks-test-secrets-key"
    async with running_webhooks(
        postgres_url, kafka_bootstrap, database=database, secrets_key=SecretStr(dedicated)
    ) as after:
        event = envelope("case.opened", case_event(brand), f"{brand}:x:t1")
        await after.publish(event)
        (received,) = await receiver.wait_for(path, 1)
        assert received.verifies_with(secret)
    engine = create_engine(database, schema="webhooks")
    try:
        async with engine.connect() as connection:
            sealed = await connection.scalar(
                text("SELECT secret_encrypted FROM webhooks.endpoints")
            )
    finally:
        await engine.dispose()
    assert SecretBox(dedicated).open(sealed) == secret  # the new key alone opens it now
