"""A canned reply's save holds no transaction, row lock or pooled connection while the guideline
check runs: routing with a pool of one connection, in front of a guidelines service that answers
only when the test lets it (a real HTTP server on loopback, forwarding to the real guidelines
service). Meanwhile PostgreSQL shows no routing session idle in a transaction, other requests
are answered, and another save of the same canned reply goes through (it is kept)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.db import create_engine
from tests.conftest import serve
from tests.fixtures.services import migrated_database
from tests.routing.cases_support import Routing
from tests.routing.replies_support import (
    SYSTEM,
    TU_REPLY,
    USTED_REPLY,
    client_for_tests,
    publish_guideline,
    routing_settings,
    running_guidelines,
    running_routing,
)

pytestmark = pytest.mark.integration


class HeldGuidelines:
    """Forwards requests to the guidelines service; the next `hold` of them wait until
    `release` is set."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hold = 0
        self.release = asyncio.Event()
        self.arrived = asyncio.Event()
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        if self.hold > 0:
            self.hold -= 1
            self.arrived.set()
            await self.release.wait()
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


@dataclass
class Lean:
    routing: Routing
    slow: HeldGuidelines
    guidelines_url: str
    client: httpx.AsyncClient
    database: str

    async def idle_in_transaction(self) -> list[str]:
        """What the routing database's sessions idle in a transaction last ran."""
        engine = create_engine(self.database, schema="public")
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                )
                return [row[0] for row in rows]
        finally:
            await engine.dispose()

    async def held(self, request: asyncio.Task[httpx.Response]) -> None:
        """Wait until `request`'s check reached the guidelines service (and is held there)."""
        await asyncio.wait_for(self.slow.arrived.wait(), 30)
        assert not request.done()

    def hold_next_check(self) -> None:
        self.slow.hold = 1
        self.slow.release.clear()
        self.slow.arrived.clear()


@pytest.fixture(scope="module")
async def lean(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Lean]:
    routing_db = await migrated_database(postgres_url, "routing")
    guidelines_db = await migrated_database(postgres_url, "guidelines")
    async with running_guidelines(guidelines_db, kafka_bootstrap) as guidelines_url:
        slow = HeldGuidelines(guidelines_url)
        async with serve(slow.app) as slow_url:  # type: ignore[arg-type]
            settings = routing_settings(
                routing_db,
                kafka_bootstrap,
                slow_url,
                kafka_enabled=False,
                case_scheduler_enabled=False,
                canned_defaults=False,
                database_pool_size=1,
                database_max_overflow=0,
                database_pool_timeout_seconds=3.0,
            )
            async with running_routing(settings) as routing, client_for_tests() as client:
                yield Lean(routing, slow, guidelines_url, client, routing_db)


async def _brand(lean: Lean) -> str:
    brand = f"canned-{uuid.uuid4().hex[:8]}"
    await publish_guideline(lean.client, lean.guidelines_url, brand)
    return brand


def _body(brand: str, **values: Any) -> dict[str, Any]:
    return {
        "brand_id": brand,
        "lang": "es",
        "code": "mensaje-privado",
        "title": "Pasar a mensaje privado",
        "text": USTED_REPLY,
        "intents": ["complaint"],
        **values,
    }


async def test_a_create_holds_no_transaction_during_the_check(lean: Lean) -> None:
    brand = await _brand(lean)
    url = f"{lean.routing.url}/v1/canned-replies"
    lean.hold_next_check()
    creating = asyncio.create_task(
        lean.client.post(
            url, json=_body(brand), headers={"Idempotency-Key": str(uuid.uuid4())}, auth=SYSTEM
        )
    )
    try:
        await lean.held(creating)
        assert await lean.idle_in_transaction() == []
        # The one pooled connection is free: a read is answered while the check is held.
        listed = await lean.client.get(url, params={"brand_id": brand}, auth=SYSTEM)
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == []
    finally:
        lean.slow.release.set()
    created = await asyncio.wait_for(creating, 60)
    assert created.status_code == 201, created.text
    assert created.json()["check_status"] == "passed"
    assert created.json()["guideline_version"] == 1


async def test_a_change_holds_no_lock_during_the_check(lean: Lean) -> None:
    brand = await _brand(lean)
    created = await lean.client.post(
        f"{lean.routing.url}/v1/canned-replies", json=_body(brand), auth=SYSTEM
    )
    assert created.status_code == 201, created.text
    url = f"{lean.routing.url}/v1/canned-replies/{created.json()['id']}"
    new_text = USTED_REPLY + " Gracias por su paciencia."

    lean.hold_next_check()
    changing = asyncio.create_task(lean.client.patch(url, json={"text": new_text}, auth=SYSTEM))
    try:
        await lean.held(changing)
        assert await lean.idle_in_transaction() == []
        # Another save of the same canned reply (no check needed) is not blocked by the first.
        retitled = await lean.client.patch(url, json={"title": "Mensaje privado"}, auth=SYSTEM)
        assert retitled.status_code == 200, retitled.text
        assert retitled.json()["version"] == 2
    finally:
        lean.slow.release.set()
    changed = await asyncio.wait_for(changing, 60)
    assert changed.status_code == 200, changed.text
    # The check read the text it saves: the other save's title is kept with it.
    assert (changed.json()["text"], changed.json()["title"]) == (new_text, "Mensaje privado")
    assert changed.json()["version"] == 3

    # A text the check refuses changes nothing, as before.
    refused = await lean.client.patch(url, json={"text": TU_REPLY}, auth=SYSTEM)
    assert refused.status_code == 422, refused.text
    assert refused.json()["reason"] == "guideline_violation"
    again = await lean.client.get(url, auth=SYSTEM)
    assert (again.json()["text"], again.json()["version"]) == (new_text, 3)


async def test_a_text_changed_by_another_save_during_the_check_is_a_409(lean: Lean) -> None:
    brand = await _brand(lean)
    created = await lean.client.post(
        f"{lean.routing.url}/v1/canned-replies", json=_body(brand), auth=SYSTEM
    )
    assert created.status_code == 201, created.text
    url = f"{lean.routing.url}/v1/canned-replies/{created.json()['id']}"

    # New intents are checked against the stored text; a new text saved meanwhile was not.
    lean.hold_next_check()
    changing = asyncio.create_task(
        lean.client.patch(url, json={"intents": ["service_request"]}, auth=SYSTEM)
    )
    try:
        await lean.held(changing)
        # Only the first check is held: the other save's goes through.
        other = await lean.client.patch(
            url, json={"text": USTED_REPLY + " Un saludo."}, auth=SYSTEM
        )
        assert other.status_code == 200, other.text
    finally:
        lean.slow.release.set()
    changing_answer = await asyncio.wait_for(changing, 60)
    assert changing_answer.status_code == 409, changing_answer.text
    problem = changing_answer.json()
    assert problem["field"] == "version"
    assert problem["detail_es"]
    stored = await lean.client.get(url, auth=SYSTEM)
    assert stored.json()["intents"] == ["complaint"]
    assert stored.json()["version"] == 2
