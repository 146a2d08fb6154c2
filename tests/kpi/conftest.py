"""The kpi service served over real HTTP with PostgreSQL and Kafka, and a producer that
publishes events in their contracts' shapes as their owners would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from services.kpi.config import KpiSettings
from services.kpi.main import create_app
from shared.auth import Principal, PrincipalAuth
from shared.events.envelope import Envelope
from shared.events.registry import topic_for
from tests.fixtures.services import migrated_database, served

SECRET = "kpi-test-internal-secret"


def as_key(
    *scopes: str, departments: Sequence[str] | None = None, brands: Sequence[str] | None = None
) -> PrincipalAuth:
    principal = Principal(
        key_id="kpi-test",
        scopes=frozenset(scopes),
        departments=frozenset(departments) if departments is not None else None,
        brands=frozenset(brands) if brands is not None else None,
    )
    return PrincipalAuth(principal, SECRET, "kpi")


@dataclass
class Kpi:
    url: str
    client: httpx.AsyncClient
    bootstrap: str
    database: str
    producer: AIOKafkaProducer

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        sends = []
        for envelope in envelopes:
            key, value, headers = envelope.to_kafka()
            sends.append(
                await self.producer.send(
                    topic_for(envelope.type), value=value, key=key, headers=headers
                )
            )
        await asyncio.gather(*sends)

    async def summary(self, auth: httpx.Auth, **params: object) -> httpx.Response:
        return await self.client.get(f"{self.url}/v1/kpis/summary", params=params, auth=auth)  # type: ignore[arg-type]

    async def wait_for(self, check: Callable[[], Awaitable[bool]], *, within: float = 40.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await check():
            if loop.time() > deadline:
                raise AssertionError("the kpi service did not fold the events in time")
            await asyncio.sleep(0.2)


@pytest.fixture(scope="package")
async def kpi(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Kpi]:
    database = await migrated_database(postgres_url, "kpi")
    app = create_app(
        KpiSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            outbox_poll_interval_seconds=0.05,
            goal_evaluation_interval_seconds=0.3,
            # The audience tests run their own app in the `kpi-audience` group; a second
            # member here would take half of their partitions.
            audience_enabled=False,
        )
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        async with served(app) as (url, client):
            yield Kpi(url, client, kafka_bootstrap, database, producer)
    finally:
        await producer.stop()
