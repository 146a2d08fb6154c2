"""Retries live in PostgreSQL: a restart in the middle of the schedule loses no delivery, and
replicas sharing one database never send one attempt twice (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from scripts.infra import free_port
from services.webhooks.signing import SecretBox
from shared.db import create_engine
from tests.fixtures.services import migrated_database
from tests.webhooks.conftest import (
    case_event,
    envelope,
    new_brand,
    running_webhooks,
)
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


async def replica_up(port: int, process: asyncio.subprocess.Process) -> None:
    """Wait until the replica in `process` answers /readyz (two minutes at most)."""
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            assert process.returncode is None, "the replica exited"
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("the replica did not become ready")


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


async def test_a_replica_killed_mid_schedule_loses_nothing_and_repeats_only_its_attempts(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    database = await migrated_database(postgres_url, "webhooks")
    values: dict[str, Any] = {
        "consumer_group": f"webhooks-kill-{uuid.uuid4().hex[:8]}",
        # Every first attempt fails; the retries come after the kill, on the survivor.
        "retry_schedule_seconds": [0, 1.0, 0.5, 0.5, 0.5, 0.5],
        "claim_lease_seconds": 3.0,
        "request_timeout_seconds": 10.0,
    }
    port = free_port()
    killed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.webhooks.replica",
        str(port),
        database,
        kafka_bootstrap,
        json.dumps(values),
    )
    try:
        await replica_up(port, killed)
        async with running_webhooks(
            postgres_url, kafka_bootstrap, database=database, **values
        ) as survivor:
            brand = new_brand()
            paths = [f"/kill-{index}" for index in range(4)]
            events = [
                envelope("case.updated", case_event(brand), f"{brand}:x:t{index}")
                for index in range(20)
            ]
            secrets = {}
            for path in paths:
                behaviour = Behaviour(statuses=[503] * len(events), then=200, delay=0.2)
                _id, secrets[path] = await survivor.endpoint(receiver.at(path, behaviour), brand)
            await survivor.publish(*events)
            # Kill it in the middle: first attempts made, retries due or in flight.
            await receiver.wait_for(paths[0], len(events) + 2, within=60)
            killed.kill()
            killed_at = time.monotonic()
            await killed.wait()

            def answered_ok(path: str) -> set[str]:
                return {item.webhook_id for item in receiver.on(path) if item.status == 200}

            deadline = time.monotonic() + 90
            while any(len(answered_ok(path)) < len(events) for path in paths):
                assert time.monotonic() < deadline, {p: len(answered_ok(p)) for p in paths}
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # nothing more comes
    finally:
        if killed.returncode is None:
            killed.kill()
            await killed.wait()
    ids = {event.id for event in events}
    for path in paths:
        received = receiver.on(path)
        assert {item.webhook_id for item in received} == ids, path  # no loss, same ids
        assert all(item.verifies_with(secrets[path]) for item in received)
    # At least once: a 200 is repeated only for an attempt the killed replica had started
    # but not recorded, i.e. claimed within one lease before the kill (an older claim was
    # recorded, or had lapsed and gone to the survivor already).
    repeated = sum(
        count - 1
        for path in paths
        for count in Counter(
            item.webhook_id for item in receiver.on(path) if item.status == 200
        ).values()
    )
    lease = values["claim_lease_seconds"]
    claimable = sum(
        1
        for path in paths
        for item in receiver.on(path)
        if killed_at - lease <= item.at <= killed_at
    )
    assert repeated <= claimable, (repeated, claimable)
