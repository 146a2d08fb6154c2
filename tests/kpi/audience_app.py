"""The kpi service served over real HTTP with PostgreSQL and Kafka for the audience tests
(fans, ideas, alerts), and builders of the interaction and case events it consumes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from services.kpi.config import KpiSettings
from services.kpi.main import create_app
from shared.auth import Principal, PrincipalAuth
from shared.bus.producer import EventProducer
from shared.events.cases import CaseEvent, CaseStatus, Priority
from shared.events.envelope import Envelope
from shared.events.interactions import (
    Author,
    Channel,
    Interaction,
    InteractionKind,
    Metrics,
    Sentiment,
    SentimentLabel,
)
from tests.fixtures.services import migrated_database, served

SECRET = "kpi-audience-test-internal-secret"
T = TypeVar("T")


def as_key(
    *scopes: str,
    departments: frozenset[str] | None = None,
    brands: frozenset[str] | None = None,
) -> PrincipalAuth:
    principal = Principal(
        key_id=f"key-{uuid.uuid4().hex[:6]}",
        scopes=frozenset(scopes),
        departments=departments,
        brands=brands,
    )
    return PrincipalAuth(principal, SECRET, "kpi")


@dataclass
class Kpi:
    url: str
    client: httpx.AsyncClient
    bootstrap: str
    producer: EventProducer

    async def publish(self, envelopes: list[Envelope]) -> None:
        await self.producer.publish(*envelopes)

    async def get(self, path: str, auth: httpx.Auth, **params: Any) -> httpx.Response:
        return await self.client.get(f"{self.url}{path}", params=params, auth=auth)


@contextlib.asynccontextmanager
async def kpi_service(
    postgres_url: str, kafka_bootstrap: str, **settings: Any
) -> AsyncIterator[Kpi]:
    database = await migrated_database(postgres_url, "kpi")
    app = create_app(
        KpiSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            outbox_poll_interval_seconds=0.05,
            **settings,
        )
    )
    producer = EventProducer(kafka_bootstrap, client_id="kpi-audience-tests")
    await producer.start()
    try:
        async with served(app) as (url, client):
            yield Kpi(url, client, kafka_bootstrap, producer)
    finally:
        await producer.stop()


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = 60
) -> T:
    """Poll `probe` until `done` accepts its value (the consumer works asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if done(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.2)


def interaction(
    brand: str,
    text: str,
    at: datetime,
    *,
    author: str,
    channel: Channel = Channel.x,
    label: SentimentLabel | None = SentimentLabel.neutral,
    score: float | None = None,
    followers: int | None = 100,
    verified: bool | None = False,
    handle: str | None = None,
    lang: str | None = None,
    likes: int | None = None,
    shares: int | None = None,
    identifier: str | None = None,
    event_type: str = "interaction.received",
) -> Envelope:
    identifier = identifier or uuid.uuid4().hex
    default_score = {"positive": 0.7, "neutral": 0.0, "negative": -0.7}
    data = Interaction(
        id=identifier,
        brand_id=brand,
        channel=channel,
        kind=InteractionKind.mention,
        external_id=f"ext-{identifier}",
        thread_external_id=f"thread-{identifier}",
        author=Author(
            external_id=author,
            handle=handle or f"@{author}",
            display_name=f"Name of {author}",
            followers=followers,
            verified=verified,
        ),
        text=text,
        lang=lang,
        sentiment=Sentiment(
            label=label, score=score if score is not None else default_score[label.value]
        )
        if label is not None
        else None,
        created_at=at,
        received_at=at,
        metrics=Metrics(likes=likes, shares=shares),
    )
    return Envelope(
        type=event_type, source="/socialcare/ingest", key=data.thread_key, data=data, time=at
    )


def case_event(
    brand: str,
    event_type: str,
    at: datetime,
    *,
    case_id: str | None = None,
    department: str = "customer_service",
    status: CaseStatus = CaseStatus.open,
    author: str | None = None,
    channel: Channel = Channel.x,
    intent: str = "complaint",
) -> Envelope:
    case_id = case_id or str(uuid.uuid4())
    thread_key = f"{brand}:{channel.value}:thread-{case_id}"
    data = CaseEvent(
        case_id=case_id,
        brand_id=brand,
        thread_key=thread_key,
        channel=channel,
        status=status,
        priority=Priority.normal,
        department=department,
        intent=intent,
        author_external_id=author,
        first_inbound_at=at,
        last_inbound_at=at,
        opened_at=at,
        resolved_at=at if status in (CaseStatus.resolved, CaseStatus.closed) else None,
        occurred_at=at,
    )
    return Envelope(
        type=event_type, source="/socialcare/routing", key=thread_key, data=data, time=at
    )
