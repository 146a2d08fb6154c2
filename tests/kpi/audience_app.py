"""The kpi service served over real HTTP with PostgreSQL and Kafka for the audience tests
(fans, ideas, alerts), and the audience tests' shorthands for tests/kpi/events.py's builders."""

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
from shared.events.cases import CaseStatus
from shared.events.envelope import Envelope
from shared.events.interactions import Author, Channel, InteractionKind, SentimentLabel
from tests.fixtures.services import migrated_database, served
from tests.kpi import events

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
            # The streams run in simulated time (November 2026): the wall clock's periodic
            # check would resolve their alerts (tests/kpi/test_alerts_clock.py tests it).
            # Its own fact consumer group: the package's app (tests/kpi/conftest.py) folds
            # into another database in `kpi-facts`, and would take half of this app's
            # partitions, their facts never reaching this database.
            **{
                "alert_check_interval_seconds": 86400.0,
                "facts_group_id": f"kpi-facts-{uuid.uuid4().hex[:8]}",
                **settings,
            },
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
    """A post by `author` (events.interaction with the audience tests' defaults)."""
    identifier = identifier or uuid.uuid4().hex
    return events.interaction(
        None,
        brand=brand,
        interaction_id=identifier,
        channel=channel.value,
        created_at=at,
        time=at,
        label=label.value if label is not None else None,
        score=score,
        lang=lang,
        thread_id=f"thread-{identifier}",
        text=text,
        event_type=event_type,
        kind=InteractionKind.mention,
        external_id=f"ext-{identifier}",
        author=Author(
            external_id=author,
            handle=handle or f"@{author}",
            display_name=f"Name of {author}",
            followers=followers,
            verified=verified,
        ),
        likes=likes,
        shares=shares,
        source="/socialcare/ingest",
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
    """A case event (events.case with the audience tests' defaults)."""
    case_id = case_id or str(uuid.uuid4())
    return events.case(
        None,
        brand=brand,
        case_id=case_id,
        event_type=event_type,
        channel=channel.value,
        department=department,
        intent=intent,
        first_inbound_at=at,
        opened_at=at,
        occurred_at=at,
        resolved_at=at if status in (CaseStatus.resolved, CaseStatus.closed) else None,
        status=status,
        author=author,
        thread_id=f"thread-{case_id}",
        source="/socialcare/routing",
    )
