"""A case answered end to end, with routing, guidelines and ingest running for real (PostgreSQL,
Kafka) and ingest sending to the local platform server: a Spanish reply in tú against a brand
that says usted is refused with the check's findings, the corrected one waits for a reviewer,
the reviewer approves it, the platform receives exactly the documented request, `reply.sent`
is published and the case shows its first response time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from shared.events.replies import ReplyEvent
from tests.conftest import serve
from tests.ingest.sends_platform import FakePlatforms
from tests.ingest.sends_support import PAGE_ID, PAGE_TOKEN
from tests.routing.cases_support import Routing, Team
from tests.routing.replies_support import (
    SYSTEM,
    TU_REPLY,
    USTED_REPLY,
    as_key,
    complaint_case,
    create_connection,
    databases,
    ingest_settings,
    publish_guideline,
    reply_events,
    routing_settings,
    running_guidelines,
    running_ingest,
    running_routing,
    seed,
    wait_for_status,
)

pytestmark = pytest.mark.integration


@dataclass
class Env:
    routing: Routing
    fake: FakePlatforms
    guidelines_url: str
    ingest_url: str
    client: httpx.AsyncClient
    bootstrap: str


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    dbs = await databases(postgres_url)
    fake = FakePlatforms(page_id=PAGE_ID)
    async with (
        serve(fake.app) as platform_url,  # type: ignore[arg-type]
        running_guidelines(dbs.guidelines, kafka_bootstrap) as guidelines_url,
        running_ingest(ingest_settings(dbs.ingest, kafka_bootstrap, platform_url)) as ingest_url,
        running_routing(routing_settings(dbs.routing, kafka_bootstrap, guidelines_url)) as routing,
        httpx.AsyncClient(timeout=30) as client,
    ):
        yield Env(routing, fake, guidelines_url, ingest_url, client, kafka_bootstrap)


async def brand_with_team(env: Env, **settings: object) -> tuple[str, str, Team]:
    brand = f"acme-{uuid.uuid4().hex[:8]}"
    connection = await create_connection(env.client, env.ingest_url, brand)
    await publish_guideline(env.client, env.guidelines_url, brand)
    team = await seed(env.routing, brand, connection)
    if settings:
        response = await env.routing.client.put(
            f"{env.routing.url}/v1/replies/settings/{brand}", json=settings, auth=SYSTEM
        )
        assert response.status_code == 200, response.text
    return brand, connection, team


async def test_tu_refused_corrected_approved_sent_and_timed(env: Env) -> None:
    brand, connection, team = await brand_with_team(env, approval_departments=["customer_service"])
    case, item = await complaint_case(env.routing, brand, connection)
    assert case.department == "customer_service"
    ana = as_key(
        "cases:read",
        "replies:write",
        "replies:approve",
        member_id=team.members["ana"],
        brand_id=brand,
    )
    rosa = as_key("cases:read", "replies:approve", member_id=team.members["rosa"], brand_id=brand)
    url = env.routing.url

    refused = await env.routing.client.post(
        f"{url}/v1/cases/{case.id}/replies", json={"text": TU_REPLY}, auth=ana
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["reason"] == "guideline_violation"
    formality = [v for v in problem["violations"] if v["rule_id"] == "tone.es.formality-brand"]
    assert formality
    assert formality[0]["level"] == "error"
    span = formality[0]["span"]
    assert TU_REPLY[span["start"] : span["end"]] == formality[0]["match"]
    assert formality[0]["message"]
    assert "suggestions" in formality[0]
    assert set(problem["messages"]) == {"en", "es"}
    assert (await env.routing.client.get(f"{url}/v1/cases/{case.id}/replies", auth=SYSTEM)).json()[
        "items"
    ] == []

    created = await env.routing.client.post(
        f"{url}/v1/cases/{case.id}/replies", json={"text": USTED_REPLY}, auth=ana
    )
    assert created.status_code == 201, created.text
    reply = created.json()
    assert reply["status"] == "awaiting_approval"
    assert reply["approval_reasons"] == ["department"]
    assert reply["author_id"] == team.members["ana"]
    assert reply["check"]["passed"] is True
    assert not env.fake.calls("POST")

    waiting = await env.routing.client.get(
        f"{url}/v1/approvals", params={"brand_id": brand}, auth=rosa
    )
    assert [item["id"] for item in waiting.json()["items"]] == [reply["id"]]

    own = await env.routing.client.post(
        f"{url}/v1/replies/{reply['id']}/approve", json={"comment": "ok"}, auth=ana
    )
    assert own.status_code == 403, own.text
    assert own.json()["reason"] == "own_reply"

    approved = await env.routing.client.post(
        f"{url}/v1/replies/{reply['id']}/approve", json={"comment": "Correcto"}, auth=rosa
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "sending"
    assert approved.json()["reviewer_id"] == team.members["rosa"]

    sent = await wait_for_status(env.routing, reply["id"], ["sent", "failed"])
    assert sent["status"] == "sent", sent
    path = f"/{item.external_id}/comments"
    [call] = env.fake.calls("POST", path)
    assert call.body == {"message": USTED_REPLY}
    assert call.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    assert sent["platform_message_id"] == env.fake.comments[item.external_id][0]["id"]
    assert sent["sent_at"]
    assert sent["approved_at"]
    assert sent["send_requested_at"]

    events = await reply_events(env.bootstrap, reply["id"], 5, key=case.thread_key)
    types = [envelope.type for envelope in events]
    assert types == [
        "reply.drafted",
        "reply.checked",
        "reply.approval_requested",
        "reply.approved",
        "reply.sent",
    ]
    last = events[-1].data
    assert isinstance(last, ReplyEvent)
    assert last.sent_at is not None
    assert last.platform_message_id == sent["platform_message_id"]

    detail = (await env.routing.client.get(f"{url}/v1/cases/{case.id}", auth=SYSTEM)).json()
    assert detail["first_response_at"] is not None
    assert detail["status"] == "pending"
    assert [m["direction"] for m in detail["messages"]] == ["inbound", "reply"]
    assert detail["messages"][1]["reply_id"] == reply["id"]
    await asyncio.sleep(0.5)
    assert len(env.fake.calls("POST", path)) == 1
