"""The reply POST holds no database connection while the guideline check runs: routing with a
pool of one connection, in front of a guidelines service that answers only when the test lets
it (a real HTTP server on loopback, forwarding to the real guidelines service), still answers
other requests meanwhile. The `Idempotency-Key` still makes one reply of two identical POSTs:
the second, while the first is in flight, is a 409 to retry; a retry after it replays it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import serve
from tests.routing.replies_support import (
    SYSTEM,
    TU_REPLY,
    USTED_REPLY,
    Env,
    client_for_tests,
    complaint_case,
    member_key,
    replies_env,
    routing_settings,
    running_routing,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    async with replies_env(postgres_url, kafka_bootstrap) as env:
        yield env


class SlowGuidelines:
    """Forwards every request to the guidelines service once `release` is set."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.release = asyncio.Event()
        self.arrived = asyncio.Event()
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        self.arrived.set()
        await self.release.wait()
        await asyncio.sleep(0.1)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.request(
                request.method,
                f"{self.upstream}{request.url.path}",
                params=dict(request.query_params),
                content=await request.body(),
                headers=headers,
            )
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
        )


async def test_a_slow_check_holds_no_pooled_connection(env: Env) -> None:
    brand, connection, team = await env.brand_with_team()
    case, _ = await complaint_case(env.routing, brand, connection)
    slow = SlowGuidelines(env.guidelines_url)
    settings = routing_settings(
        env.routing.database,
        env.bootstrap,
        "http://unused",
        kafka_enabled=False,
        case_scheduler_enabled=False,
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout_seconds=3.0,
    )
    ana = member_key(team, "ana")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    async with serve(slow.app) as slow_url:  # type: ignore[arg-type]
        settings.guidelines_url = slow_url
        async with running_routing(settings) as lean, client_for_tests() as client:
            url = f"{lean.url}/v1/cases/{case.id}/replies"
            posting = asyncio.create_task(
                client.post(url, json={"text": USTED_REPLY}, headers=key, auth=ana)
            )
            try:
                await asyncio.wait_for(slow.arrived.wait(), 30)
                # The check is in flight: the one connection is free for other requests.
                for _ in range(3):
                    other = await client.get(f"{lean.url}/v1/cases/{case.id}", auth=SYSTEM)
                    assert other.status_code == 200, other.text
                # The same POST again while the first is checked: in progress, nothing sent.
                twin = await client.post(url, json={"text": USTED_REPLY}, headers=key, auth=ana)
                assert twin.status_code == 409, twin.text
                assert twin.headers["content-type"].startswith("application/problem+json")
                assert not posting.done()
            finally:
                slow.release.set()
            first = await asyncio.wait_for(posting, 60)
            assert first.status_code == 201, first.text
            again = await client.post(url, json={"text": USTED_REPLY}, headers=key, auth=ana)
            assert again.status_code == 201, again.text
            assert again.headers["idempotent-replay"] == "true"
            assert again.json()["id"] == first.json()["id"]

            # A POST the check refuses gives its key back: the corrected one runs with it.
            retry_key = {"Idempotency-Key": str(uuid.uuid4())}
            refused = await client.post(url, json={"text": TU_REPLY}, headers=retry_key, auth=ana)
            assert refused.status_code == 422, refused.text
            corrected = await client.post(
                url, json={"text": USTED_REPLY + " Gracias."}, headers=retry_key, auth=ana
            )
            assert corrected.status_code == 201, corrected.text
            listed = await client.get(url, auth=SYSTEM)
            ids = sorted(item["id"] for item in listed.json()["items"])
            assert ids == sorted([first.json()["id"], corrected.json()["id"]])
