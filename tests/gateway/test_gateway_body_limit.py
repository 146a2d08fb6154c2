"""The gateway's ceiling on request bodies, declared or streamed, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr

from services.gateway.main import create_app as create_gateway
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

pytestmark = pytest.mark.integration

ADMIN_KEY = "sc_test_admin_key_body_limit_0123456789abcdefghijklmnopqrs"
LIMIT = 64 * 1024


@dataclass
class Suite:
    gateway: str
    client: httpx.AsyncClient
    received: list[int]


def upstream_app(received: list[int]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/interactions")
    async def take(request: Request) -> dict[str, int]:
        size = len(await request.body())
        received.append(size)
        return {"size": size}

    return app


@pytest.fixture(scope="module")
async def suite(postgres_url: str) -> AsyncIterator[Suite]:
    database = await migrated_database(postgres_url, "gateway")
    received: list[int] = []
    async with serve(upstream_app(received)) as upstream:
        gateway = create_gateway(
            gateway_settings(
                database,
                admin_key=SecretStr(ADMIN_KEY),
                ingest_url=upstream,
                max_request_body_bytes=LIMIT,
            )
        )
        async with serve(gateway) as url, httpx.AsyncClient(timeout=30) as client:
            yield Suite(url, client, received)


HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}


def assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 413


async def test_a_body_within_the_limit_is_proxied(suite: Suite) -> None:
    response = await suite.client.post(
        f"{suite.gateway}/v1/interactions", content=b"x" * 1000, headers=HEADERS
    )
    assert response.json() == {"size": 1000}


async def test_a_declared_body_over_the_limit_is_413_and_never_forwarded(suite: Suite) -> None:
    before = len(suite.received)
    response = await suite.client.post(
        f"{suite.gateway}/v1/interactions", content=b"x" * (LIMIT + 1), headers=HEADERS
    )
    assert_413(response)
    assert len(suite.received) == before


async def test_a_streamed_body_over_the_limit_is_413(suite: Suite) -> None:
    before = len(suite.received)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 16384

    response = await suite.client.post(
        f"{suite.gateway}/v1/interactions", content=chunks(), headers=HEADERS
    )
    assert_413(response)
    # The upstream saw no complete body of that size.
    assert all(size <= LIMIT for size in suite.received[before:])
