"""Ingest stopped in the middle of a send (the request has reached the platform, the answer has
not come back) and started again: the platform never gets a second request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from services.ingest.models import Send
from shared.db import create_engine
from shared.events.interactions import Channel
from shared.events.sends import SendCompleted, SendFailed, SendKind
from tests.conftest import serve
from tests.fixtures.services import migrated_database
from tests.ingest.sends_platform import Answer, FakePlatforms
from tests.ingest.sends_support import (
    PAGE_ID,
    PHONE_NUMBER_ID,
    create_connection,
    outcomes,
    publish,
    running_ingest,
    send_request,
    send_settings,
    wait_for,
)

pytestmark = pytest.mark.integration
BRAND = "acme-restart"


@dataclass
class Env:
    fake: FakePlatforms
    platform_url: str
    database: str
    bootstrap: str


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    fake = FakePlatforms(page_id=PAGE_ID)
    database = await migrated_database(postgres_url, "ingest")
    async with serve(fake.app) as platform_url:  # type: ignore[arg-type]
        yield Env(fake, platform_url, database, kafka_bootstrap)


async def state_of(database: str, send_id: str) -> str | None:
    engine = create_engine(database, schema="ingest")
    try:
        async with engine.connect() as connection:
            state: str | None = (
                await connection.execute(select(Send.state).where(Send.send_id == send_id))
            ).scalar()
            return state
    finally:
        await engine.dispose()


async def stop_in_the_middle(
    env: Env, kind: SendKind, channel: Channel, target: str, text: str, path: str
) -> str:
    """Start ingest, let the send reach the platform (which applies it and answers late),
    stop ingest before the answer; returns the send id."""
    # Longer than stopping takes: the first process is gone before its call could time out.
    settings = send_settings(
        env.database, env.bootstrap, env.platform_url, send_timeout_seconds=3.0
    )
    env.fake.script("POST", path, Answer(processed=True, delay=8.0))
    async with running_ingest(settings) as (url, client):
        connection = await create_connection(url, client, BRAND, "meta")
        request = send_request(BRAND, connection, kind, channel, target, text)
        await publish(env.bootstrap, request)
        await wait_for(lambda: bool(env.fake.calls("POST", path)))
    assert await state_of(env.database, request.send_id) == "in_flight"
    return request.send_id


async def test_a_page_comment_reply_interrupted_is_found_not_posted_again(env: Env) -> None:
    text = "Hola Lucía, ya hemos localizado su pedido: llega mañana."
    path = "/448_901_1/comments"
    send_id = await stop_in_the_middle(
        env, SendKind.comment_reply, Channel.facebook, "448_901_1", text, path
    )
    settings = send_settings(
        env.database, env.bootstrap, env.platform_url, send_timeout_seconds=3.0
    )
    async with running_ingest(settings):
        [event] = await outcomes(env.bootstrap, send_id, within=40)
    completed = event.data
    assert isinstance(completed, SendCompleted)
    assert completed.platform_message_id == env.fake.comments["448_901_1"][0]["id"]
    assert completed.attempts == 2  # the interrupted post, then the look
    assert len(env.fake.calls("POST", path)) == 1
    assert len(env.fake.calls("GET", path)) == 1
    assert await state_of(env.database, send_id) == "completed"


async def test_a_whatsapp_message_interrupted_is_uncertain_not_sent_again(env: Env) -> None:
    path = f"/{PHONE_NUMBER_ID}/messages"
    send_id = await stop_in_the_middle(
        env,
        SendKind.whatsapp_message,
        Channel.whatsapp,
        "34600123123",
        "Your replacement ships today. Sorry for the trouble!",
        path,
    )
    settings = send_settings(
        env.database, env.bootstrap, env.platform_url, send_timeout_seconds=3.0
    )
    async with running_ingest(settings):
        [event] = await outcomes(env.bootstrap, send_id, within=40)
        await asyncio.sleep(1.0)
    failed = event.data
    assert isinstance(failed, SendFailed)
    assert failed.reason == "uncertain"
    assert failed.code == "interrupted"
    assert "restarted" in failed.messages["en"]
    assert "reinició" in failed.messages["es"]
    assert len(env.fake.calls("POST", path)) == 1
    assert await state_of(env.database, send_id) == "uncertain"
