"""What the send integration tests share: ingest served against the local platform server,
a connection with send tokens, publishing `send.requested`, reading the outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from shared.auth import Principal, PrincipalAuth
from shared.events.envelope import Envelope
from shared.events.interactions import Channel, thread_key
from shared.events.sends import SendKind, SendRequested
from shared.events.topics import SENDS
from tests.fixtures.services import read_events, served
from tests.ingest.sends_platform import GRAPH_VERSION

SECRET = "ingest-sends-test-internal-secret"
PAGE_TOKEN = "EAAB-page-token-for-tests"
WHATSAPP_TOKEN = "EAAG-whatsapp-token-for-tests"
X_TOKEN = "x-oauth2-user-token-for-tests"
PAGE_ID = "448"
PHONE_NUMBER_ID = "106540352242922"
TOKENS = (PAGE_TOKEN, WHATSAPP_TOKEN, X_TOKEN)


def as_principal(*scopes: str) -> PrincipalAuth:
    principal = Principal(key_id=f"key-{'-'.join(scopes)}", scopes=frozenset(scopes))
    return PrincipalAuth(principal, SECRET, "ingest")


def send_settings(
    database: str, bootstrap: str, platform_url: str, **values: Any
) -> IngestSettings:
    defaults: dict[str, Any] = {
        "database_url": database,
        "kafka_bootstrap": bootstrap,
        "internal_secret": SecretStr(SECRET),
        "outbox_poll_interval_seconds": 0.05,
        "send_meta_graph_url": f"{platform_url}/{GRAPH_VERSION}",
        "send_x_api_url": platform_url,
        "send_connect_timeout_seconds": 1.0,
        "send_timeout_seconds": 1.0,
        "send_poll_interval_seconds": 0.1,
        "send_backoff_base_seconds": 0.2,
        "send_max_attempts": 3,
    }
    return IngestSettings(**{**defaults, **values})


@contextlib.asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    async with served(create_app(settings)) as (url, client):
        yield url, client


async def create_connection(
    url: str, client: httpx.AsyncClient, brand_id: str, platform: str
) -> str:
    secrets = (
        {
            "app_secret": "meta-app-secret",
            "verify_token": "verify",
            "page_access_token": PAGE_TOKEN,
            "page_id": PAGE_ID,
            "whatsapp_token": WHATSAPP_TOKEN,
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        }
        if platform == "meta"
        else {"consumer_secret": "x-consumer-secret", "x_user_token": X_TOKEN}
    )
    response = await client.post(
        f"{url}/v1/connections",
        json={
            "brand_id": brand_id,
            "platform": platform,
            "name": f"{brand_id} {platform}",
            "account_ids": [PAGE_ID, PHONE_NUMBER_ID] if platform == "meta" else ["2244994945"],
            "secrets": secrets,
        },
        auth=as_principal("team:write"),
    )
    assert response.status_code == 201, response.text
    for token in TOKENS:
        assert token not in response.text
    connection_id: str = response.json()["id"]
    return connection_id


def send_request(
    brand_id: str,
    connection_id: str,
    kind: SendKind,
    channel: Channel,
    target_id: str,
    text: str,
    *,
    thread: str | None = None,
    last_inbound_at: datetime | None = None,
) -> SendRequested:
    now = datetime.now(UTC)
    return SendRequested(
        send_id=f"rep_{uuid.uuid4().hex[:12]}",
        brand_id=brand_id,
        case_id=f"cas_{uuid.uuid4().hex[:8]}",
        connection_id=connection_id,
        channel=channel,
        thread_key=thread_key(brand_id, channel, thread or target_id),
        kind=kind,
        target_id=target_id,
        text=text,
        requested_at=now,
        last_inbound_at=last_inbound_at or now,
    )


async def publish(bootstrap: str, *requests: SendRequested) -> None:
    """Publish each request as routing would (a new event id each time)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for request in requests:
            envelope = Envelope(
                type="send.requested",
                source="/socialcare/routing",
                key=request.thread_key,
                data=request,
            )
            key, value, headers = envelope.to_kafka()
            await producer.send_and_wait(SENDS, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def outcomes(
    bootstrap: str, send_id: str, *, expected: int = 1, drain: bool = True, within: float = 30
) -> list[Envelope]:
    keep: Callable[[Envelope], bool] = lambda envelope: (  # noqa: E731
        envelope.type in ("send.completed", "send.failed")
        and getattr(envelope.data, "send_id", None) == send_id
    )
    return await read_events(bootstrap, SENDS, keep, expected, drain=drain, within=within)


async def wait_for(condition: Callable[[], bool], within: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)
