"""An endpoint whose creation was answered gets every event published after that answer,
whichever replica consumes the event and however recently that replica loaded its copy of
the endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.webhooks import repository
from services.webhooks.delivery.directory import EndpointDirectory
from services.webhooks.models import Endpoint
from services.webhooks.state import WebhooksState
from tests.fixtures.services import migrated_database
from tests.webhooks.conftest import (
    Webhooks,
    case_event,
    envelope,
    new_brand,
    running_webhooks,
)
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.integration


def directory_of(webhooks: Webhooks) -> EndpointDirectory:
    return webhooks.runtime.state_as(WebhooksState).directory


async def test_an_endpoint_made_on_another_replica_gets_the_next_event(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    # Replica "api" answers the creation; replica "worker" consumes the event. The worker
    # loaded its copy of the endpoints at start and trusts it for a minute.
    database = await migrated_database(postgres_url, "webhooks")
    async with (
        running_webhooks(
            postgres_url,
            kafka_bootstrap,
            database=database,
            consumers_enabled=False,
            endpoint_cache_seconds=60,
        ) as api,
        running_webhooks(
            postgres_url, kafka_bootstrap, database=database, endpoint_cache_seconds=60
        ) as worker,
    ):
        assert await directory_of(worker).views() == {}
        brand = new_brand()
        path = "/made-elsewhere"
        _id, secret = await api.endpoint(receiver.at(path), brand)
        event = envelope("case.opened", case_event(brand), f"{brand}:x:t1")
        await api.publish(event)
        (received,) = await receiver.wait_for(path, 1, within=30)
        assert received.webhook_id == event.id
        assert received.verifies_with(secret)


async def test_a_load_begun_before_a_change_does_not_hide_it(
    webhooks: Webhooks, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copy's load reads the table, then waits (a busy host) while an endpoint is created
    # and committed, and the directory told; the copy it then keeps must not count as fresh.
    directory = EndpointDirectory(webhooks.runtime.sessions, directory_of(webhooks).box, 60)
    read, resume = asyncio.Event(), asyncio.Event()
    original = repository.enabled_endpoints

    async def slow_read(session: AsyncSession) -> Sequence[Endpoint]:
        rows = await original(session)
        read.set()
        await resume.wait()
        return rows

    monkeypatch.setattr(repository, "enabled_endpoints", slow_read)
    loading = asyncio.create_task(directory.views())
    await read.wait()
    monkeypatch.setattr(repository, "enabled_endpoints", original)
    endpoint_id, _secret = await webhooks.endpoint(receiver.at("/late-load"), new_brand())
    directory.invalidate()
    resume.set()
    assert endpoint_id not in await loading  # that load's snapshot came first
    assert endpoint_id in await directory.views()
