"""The webhooks service on real HTTP with PostgreSQL and Kafka, a real receiver on loopback,
and one sample event of every deliverable type."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, SecretStr

from services.webhooks.config import WebhooksSettings
from services.webhooks.main import create_app
from shared.auth import Principal, PrincipalAuth
from shared.bus.producer import EventProducer
from shared.events.alerts import AlertKind, AlertRaised, AlertResolved
from shared.events.cases import CASE_EVENT_TYPES, CaseEvent, CaseStatus, Priority
from shared.events.envelope import Envelope
from shared.events.guidelines import GuidelineCheckCompleted, GuidelinePublished
from shared.events.interactions import (
    DeliveryStatus,
    EngagementRecorded,
    Interaction,
    InteractionDeleted,
)
from shared.events.replies import REPLY_EVENT_TYPES, ReplyEvent
from shared.runtime import ServiceRuntime
from tests.fixtures.services import migrated_database, served
from tests.webhooks.receiver import Receiver, running_receiver

SECRET = "webhooks-test-internal-secret"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def as_key(
    *scopes: str,
    key_id: str = "integrator-1",
    brands: set[str] | None = None,
    departments: set[str] | None = None,
) -> PrincipalAuth:
    principal = Principal(
        key_id=key_id,
        scopes=frozenset(scopes),
        brands=frozenset(brands) if brands is not None else None,
        departments=frozenset(departments) if departments is not None else None,
    )
    return PrincipalAuth(principal, SECRET, "webhooks")


MANAGER = as_key("webhooks:manage")
ADMIN = as_key("admin", key_id="admin-1")


def test_settings(database: str, bootstrap: str, **values: Any) -> WebhooksSettings:
    defaults: dict[str, Any] = {
        "database_url": database,
        "kafka_bootstrap": bootstrap,
        "internal_secret": SecretStr(SECRET),
        "outbox_poll_interval_seconds": 0.05,
        "ssrf_allowlist": ["127.0.0.1/32"],
        # The real schedule's shape, in tenths of seconds.
        "retry_schedule_seconds": [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0],
        "retry_jitter": 0.0,
        "dispatch_poll_seconds": 0.05,
        "request_timeout_seconds": 3.0,
        "claim_lease_seconds": 4.0,
        "endpoint_cache_seconds": 0.2,
        "consumer_group": f"webhooks-test-{uuid.uuid4().hex[:8]}",
    }
    defaults.update(values)
    return WebhooksSettings(**defaults)


@dataclass
class Webhooks:
    url: str
    client: httpx.AsyncClient
    app: FastAPI
    settings: WebhooksSettings
    database: str
    bootstrap: str
    producer: EventProducer

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def create(self, auth: PrincipalAuth = MANAGER, **body: Any) -> httpx.Response:
        return await self.client.post(f"{self.url}/v1/webhook-endpoints", json=body, auth=auth)

    async def endpoint(self, url: str, brand: str, **body: Any) -> tuple[str, str]:
        """A new endpoint for `brand` (every event type by default): its id and secret."""
        body.setdefault("event_types", ["*"])
        auth = body.pop("auth", MANAGER)
        response = await self.create(auth, url=url, brand_ids=[brand], **body)
        assert response.status_code == 201, response.text
        return response.json()["id"], response.json()["secret"]

    async def publish(self, *envelopes: Envelope) -> None:
        await self.producer.publish(*envelopes)

    async def deliveries(self, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"{self.url}/v1/webhook-endpoints/{endpoint_id}/deliveries",
            params=params,
            auth=MANAGER,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def wait_until(
        self, check: Callable[[], Any], within: float = 20.0, every: float = 0.1
    ) -> Any:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await check()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(every)


async def consumers_ready(app: FastAPI) -> None:
    runtime: ServiceRuntime = app.state.runtime
    for runner in runtime.consumers:
        async with asyncio.timeout(30):
            await runner.ready.wait()


@asynccontextmanager
async def running_webhooks(
    postgres_url: str, kafka_bootstrap: str, *, database: str | None = None, **values: Any
) -> AsyncIterator[Webhooks]:
    database = database or await migrated_database(postgres_url, "webhooks")
    settings = test_settings(database, kafka_bootstrap, **values)
    app = create_app(settings)
    producer = EventProducer(kafka_bootstrap, client_id="webhooks-test-publisher")
    await producer.start()
    try:
        async with served(app) as (url, client):
            await consumers_ready(app)
            yield Webhooks(url, client, app, settings, database, kafka_bootstrap, producer)
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def webhooks(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Webhooks]:
    async with running_webhooks(postgres_url, kafka_bootstrap) as service:
        yield service


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


def new_brand() -> str:
    return f"brand-{uuid.uuid4().hex[:8]}"


def case_event(
    brand: str, *, department: str | None = "customer_service", **values: Any
) -> CaseEvent:
    fields: dict[str, Any] = {
        "case_id": f"cas_{uuid.uuid4().hex[:8]}",
        "brand_id": brand,
        "thread_key": f"{brand}:x:t1",
        "channel": "x",
        "status": CaseStatus.open,
        "priority": Priority.normal,
        "department": department,
        "intent": "complaint",
        "first_inbound_at": NOW,
        "last_inbound_at": NOW,
        "opened_at": NOW,
        "occurred_at": NOW,
    }
    fields.update(values)
    return CaseEvent(**fields)


def sample_payload(event_type: str, brand: str) -> BaseModel:
    """One valid payload of `event_type` for `brand`."""
    thread: dict[str, Any] = {"channel": "x", "thread_external_id": "t1"}
    if event_type in ("interaction.received", "interaction.updated"):
        return Interaction(
            id=str(uuid.uuid4()),
            brand_id=brand,
            kind="comment",
            external_id="m1",
            text="¿Dónde está mi pedido? / Where is my order?",
            created_at=NOW,
            received_at=NOW,
            **thread,
        )
    if event_type == "interaction.deleted":
        return InteractionDeleted(
            id="i1", brand_id=brand, external_id="m1", deleted_at=NOW, **thread
        )
    if event_type == "interaction.delivery_status":
        return DeliveryStatus(
            brand_id=brand, external_id="m2", status="read", occurred_at=NOW, **thread
        )
    if event_type == "engagement.recorded":
        return EngagementRecorded(
            brand_id=brand, external_id="p1", kind="like", occurred_at=NOW, **thread
        )
    if event_type == "guideline.published":
        return GuidelinePublished(
            brand_id=brand, version=1, packs=["standards"], rule_count=3, published_at=NOW
        )
    if event_type == "guideline.check_completed":
        return GuidelineCheckCompleted(
            check_id="chk_1",
            brand_id=brand,
            guideline_version=1,
            passed=True,
            score=90,
            violation_count=0,
            error_count=0,
            checked_at=NOW,
        )
    if event_type in CASE_EVENT_TYPES:
        return case_event(brand)
    if event_type in REPLY_EVENT_TYPES:
        return ReplyEvent(
            reply_id="rpl_1",
            case_id="cas_1",
            brand_id=brand,
            thread_key=f"{brand}:x:t1",
            channel="x",
            department="customer_service",
            sent_at=NOW,
            occurred_at=NOW,
        )
    if event_type == "alert.raised":
        return AlertRaised(
            alert_id="alr_1",
            brand_id=brand,
            kind=AlertKind.crisis,
            title="Crisis posible / Possible crisis",
            window_start=NOW - timedelta(minutes=10),
            window_end=NOW,
            raised_at=NOW,
        )
    if event_type == "alert.resolved":
        return AlertResolved(
            alert_id="alr_1", brand_id=brand, kind=AlertKind.crisis, resolved_at=NOW
        )
    raise AssertionError(f"no sample for {event_type}: add one")


def envelope(event_type: str, data: BaseModel, key: str) -> Envelope:
    return Envelope(type=event_type, source="socialcare/tests", key=key, data=data)
