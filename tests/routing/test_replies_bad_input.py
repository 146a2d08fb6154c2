"""What the reply API refuses, each as problem+json and with nothing sent: an unknown case, an
empty or over-long text, an author without the grant, a closed case, a closed 24-hour window,
a key naming another member, a reviewer who is not one, the guideline check unreachable; and a
retried POST with its Idempotency-Key, which answers the first reply again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from scripts.infra import free_port
from services.routing.guidelines_client import GuidelinesClient
from services.routing.state import RoutingState
from shared.events.interactions import Channel
from tests.routing.replies_support import (
    SECRET,
    SYSTEM,
    USTED_REPLY,
    Env,
    as_key,
    complaint_case,
    member_key,
    replies_env,
    wait_for_status,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    async with replies_env(postgres_url, kafka_bootstrap) as env:
        yield env


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def replies_of(env: Env, case_id: str) -> list[dict[str, object]]:
    response = await env.routing.client.get(
        f"{env.routing.url}/v1/cases/{case_id}/replies", auth=SYSTEM
    )
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_unknown_case_empty_and_too_long_text(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(channel="x")
    ana = member_key(team, "ana")
    problem(await env.post_reply(str(uuid.uuid4()), ana, text=USTED_REPLY), 404)
    case, _ = await complaint_case(env.routing, brand, connection, channel=Channel.x)
    for empty in ("", "   \n "):
        body = problem(await env.post_reply(case.id, ana, text=empty), 422)
        assert "text" in str(body)
    too_long = "Buenos días. " + "Disculpe las molestias. " * 20
    body = problem(await env.post_reply(case.id, ana, text=too_long), 422)
    assert body["reason"] == "too_long"
    assert body["limit"] == 280
    assert set(body["messages"]) == {"en", "es"}
    assert await replies_of(env, case.id) == []
    assert not env.fake.calls("POST", "/2/tweets")


async def test_authors_without_the_grant_or_named_wrongly_are_refused(env: Env) -> None:
    brand, connection, team = await env.brand_with_team()
    case, _ = await complaint_case(env.routing, brand, connection)
    no_grant = problem(
        await env.post_reply(case.id, member_key(team, "sin_permiso"), text=USTED_REPLY), 403
    )
    assert no_grant["reason"] == "no_reply_grant"
    named = problem(
        await env.post_reply(
            case.id,
            member_key(team, "ana"),
            text=USTED_REPLY,
            author_member_id=team.members["pablo"],
        ),
        403,
    )
    assert named["reason"] == "key_bound_to_another_member"
    unnamed = problem(await env.post_reply(case.id, SYSTEM, text=USTED_REPLY), 422)
    assert unnamed["field"] == "author_member_id"
    stranger = problem(
        await env.post_reply(case.id, SYSTEM, text=USTED_REPLY, author_member_id="nobody"), 403
    )
    assert stranger["reason"] == "not_a_member"
    other_brand = as_key(
        "replies:write", member_id=team.members["ana"], brand_id="another-brand", key_id="k-o"
    )
    problem(await env.post_reply(case.id, other_brand, text=USTED_REPLY), 403)
    no_scope = as_key("cases:read", member_id=team.members["ana"], brand_id=brand)
    problem(await env.post_reply(case.id, no_scope, text=USTED_REPLY), 403)
    assert await replies_of(env, case.id) == []


async def test_a_closed_case_and_a_closed_window_are_conflicts(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(channel="messenger")
    ana = member_key(team, "ana")
    stale, _ = await complaint_case(
        env.routing,
        brand,
        connection,
        channel=Channel.messenger,
        created_at=datetime.now(UTC) - timedelta(hours=25),
    )
    calls = len(env.fake.requests)
    window = problem(await env.post_reply(stale.id, ana, text=USTED_REPLY), 409)
    assert window["reason"] == "window_closed"
    assert "24" in window["messages"]["es"]
    case, _ = await complaint_case(env.routing, brand, connection, channel=Channel.messenger)
    closed = await env.routing.client.patch(
        f"{env.routing.url}/v1/cases/{case.id}",
        json={"status": "closed"},
        auth=as_key("cases:read", "cases:write"),
    )
    assert closed.status_code == 200, closed.text
    body = problem(await env.post_reply(case.id, ana, text=USTED_REPLY), 409)
    assert body["reason"] == "case_closed"
    assert len(env.fake.requests) == calls


async def test_only_reviewers_of_the_department_approve_and_never_their_own(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(approval_departments=["customer_service"])
    case, _ = await complaint_case(env.routing, brand, connection)
    created = await env.post_reply(case.id, member_key(team, "ana"), text=USTED_REPLY)
    reply_id = created.json()["id"]
    url = f"{env.routing.url}/v1/replies/{reply_id}/approve"
    client = env.routing.client
    own = problem(await client.post(url, json={}, auth=member_key(team, "ana")), 403)
    assert own["reason"] == "own_reply"
    agent = problem(await client.post(url, json={}, auth=member_key(team, "pablo")), 403)
    assert agent["reason"] == "not_a_reviewer"
    elsewhere = problem(await client.post(url, json={}, auth=member_key(team, "ventas")), 403)
    assert elsewhere["reason"] == "not_in_department"
    unnamed = problem(await client.post(url, json={}, auth=SYSTEM), 422)
    assert unnamed["field"] == "reviewer_member_id"
    writer_only = member_key(team, "rosa", "cases:read", "replies:write")
    problem(await client.post(url, json={}, auth=writer_only), 403)
    problem(
        await client.post(
            f"{env.routing.url}/v1/replies/{reply_id}/reject",
            json={"comment": "  "},
            auth=member_key(team, "rosa"),
        ),
        422,
    )
    problem(
        await client.post(
            f"{env.routing.url}/v1/replies/{uuid.uuid4()}/approve",
            json={},
            auth=member_key(team, "rosa"),
        ),
        404,
    )
    by_system = await client.post(
        url, json={"reviewer_member_id": team.members["rosa"]}, auth=SYSTEM
    )
    assert by_system.status_code == 200, by_system.text
    assert (await wait_for_status(env.routing, reply_id, ["sent", "failed"]))["status"] == "sent"


async def test_the_check_unreachable_is_a_503_and_nothing_is_stored(env: Env) -> None:
    brand, connection, team = await env.brand_with_team()
    case, _ = await complaint_case(env.routing, brand, connection)
    state = env.routing.runtime.state_as(RoutingState)
    working = state.guidelines
    state.guidelines = GuidelinesClient(
        f"http://127.0.0.1:{free_port()}", secret=SecretStr(SECRET), timeout=2.0
    )
    try:
        body = problem(
            await env.post_reply(case.id, member_key(team, "ana"), text=USTED_REPLY), 503
        )
    finally:
        assert state.guidelines is not None
        await state.guidelines.aclose()
        state.guidelines = working
    assert set(body["messages"]) == {"en", "es"}
    assert await replies_of(env, case.id) == []


async def test_a_brand_without_a_guideline_cannot_reply_unchecked(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(guideline=False)
    case, _ = await complaint_case(env.routing, brand, connection)
    body = problem(await env.post_reply(case.id, member_key(team, "ana"), text=USTED_REPLY), 409)
    assert body["reason"] == "no_guideline"
    assert await replies_of(env, case.id) == []


async def test_a_retried_post_with_its_idempotency_key_answers_the_first_reply(env: Env) -> None:
    brand, connection, team = await env.brand_with_team()
    case, item = await complaint_case(env.routing, brand, connection)
    ana = member_key(team, "ana")
    url = f"{env.routing.url}/v1/cases/{case.id}/replies"
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await env.routing.client.post(
        url, json={"text": USTED_REPLY}, headers=headers, auth=ana
    )
    again = await env.routing.client.post(
        url, json={"text": USTED_REPLY}, headers=headers, auth=ana
    )
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers["idempotent-replay"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = await env.routing.client.post(
        url, json={"text": USTED_REPLY + " Gracias."}, headers=headers, auth=ana
    )
    problem(other, 409)
    await wait_for_status(env.routing, first.json()["id"], ["sent"])
    assert len(await replies_of(env, case.id)) == 1
    assert len(env.fake.calls("POST", f"/{item.external_id}/comments")) == 1
