"""A reply's send survives a restart of either service in the middle: the platform has the
request, the answer has not come back, and routing or ingest stops and starts again. The
reply ends `sent`, `reply.sent` is published once, and the platform never gets a second
request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import serve
from tests.ingest.sends_platform import Answer, FakePlatforms
from tests.ingest.sends_support import PAGE_ID
from tests.routing.cases_support import Team
from tests.routing.replies_support import (
    SYSTEM,
    USTED_REPLY,
    Databases,
    Env,
    client_for_tests,
    complaint_case,
    databases,
    ingest_settings,
    member_key,
    reply_events,
    reply_row,
    routing_settings,
    running_guidelines,
    running_ingest,
    running_routing,
    wait_for_status,
)

pytestmark = pytest.mark.integration


@dataclass
class Parts:
    dbs: Databases
    fake: FakePlatforms
    platform_url: str
    guidelines_url: str
    client: httpx.AsyncClient
    bootstrap: str

    def ingest(self) -> Any:
        # Longer than stopping takes: the first process is gone before its call times out.
        return ingest_settings(
            self.dbs.ingest, self.bootstrap, self.platform_url, send_timeout_seconds=3.0
        )


@pytest.fixture(scope="module")
async def parts(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Parts]:
    dbs = await databases(postgres_url)
    fake = FakePlatforms(page_id=PAGE_ID)
    async with (
        serve(fake.app) as platform_url,  # type: ignore[arg-type]
        running_guidelines(dbs.guidelines, kafka_bootstrap) as guidelines_url,
        client_for_tests() as client,
    ):
        yield Parts(dbs, fake, platform_url, guidelines_url, client, kafka_bootstrap)


async def wait_for_platform_call(fake: FakePlatforms, path: str, within: float = 40) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not fake.calls("POST", path):
        if loop.time() > deadline:
            raise AssertionError(f"the platform never got POST {path}")
        await asyncio.sleep(0.05)


async def draft(env: Env) -> tuple[str, str, str, Team]:
    """A brand, a case and a reply on its way (no approval needed); the reply's id, the
    comment path on the platform and the case's thread key."""
    brand, connection, team = await env.brand_with_team()
    case, item = await complaint_case(env.routing, brand, connection)
    path = f"/{item.external_id}/comments"
    # The platform takes the reply at once and answers late.
    env.fake.script("POST", path, Answer(processed=True, delay=8.0))
    created = await env.post_reply(case.id, member_key(team, "ana"), text=USTED_REPLY)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "sending"
    return created.json()["id"], path, case.thread_key, team


async def test_routing_restarted_while_the_platform_answers(parts: Parts) -> None:
    settings = routing_settings(parts.dbs.routing, parts.bootstrap, parts.guidelines_url)
    async with running_ingest(parts.ingest()) as ingest_url:
        async with running_routing(settings) as routing:
            env = Env(
                routing, parts.fake, parts.guidelines_url, ingest_url, parts.client, parts.bootstrap
            )
            reply_id, path, thread_key, _ = await draft(env)
            await wait_for_platform_call(parts.fake, path)
        # Routing is down while ingest gets the answer and publishes the outcome.
        stopped = await reply_row(routing, reply_id)
        assert stopped is not None
        assert stopped.status == "sending"  # routing stopped before the outcome came
        async with running_routing(settings) as routing:
            sent = await wait_for_status(routing, reply_id, ["sent", "failed"])
            events = await reply_events(parts.bootstrap, reply_id, 3, key=thread_key, drain=True)
    assert sent["status"] == "sent", sent
    assert [e.type for e in events] == ["reply.drafted", "reply.checked", "reply.sent"]
    assert len(parts.fake.calls("POST", path)) == 1


async def test_ingest_restarted_while_the_platform_answers(parts: Parts) -> None:
    settings = routing_settings(parts.dbs.routing, parts.bootstrap, parts.guidelines_url)
    async with running_routing(settings) as routing:
        async with running_ingest(parts.ingest()) as ingest_url:
            env = Env(
                routing, parts.fake, parts.guidelines_url, ingest_url, parts.client, parts.bootstrap
            )
            reply_id, path, thread_key, _ = await draft(env)
            await wait_for_platform_call(parts.fake, path)
        # Ingest stopped with the request on the platform; started again, it looks for the
        # comment it posted instead of posting it again.
        async with running_ingest(parts.ingest()):
            sent = await wait_for_status(routing, reply_id, ["sent", "failed"], within=60)
        detail = await routing.client.get(f"{routing.url}/v1/cases/{sent['case_id']}", auth=SYSTEM)
    assert sent["status"] == "sent", sent
    assert sent["platform_message_id"] == parts.fake.comments[path.split("/")[1]][0]["id"]
    assert len(parts.fake.calls("POST", path)) == 1
    assert len(parts.fake.calls("GET", path)) == 1
    assert detail.json()["first_response_at"] is not None
    events = await reply_events(parts.bootstrap, reply_id, 3, key=thread_key, drain=True)
    assert [e.type for e in events].count("reply.sent") == 1
