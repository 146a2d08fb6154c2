"""Sending through Kafka, PostgreSQL and the local platform server: `send.requested` in,
exactly one platform request, one outcome event out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.events.interactions import Channel
from shared.events.sends import SendCompleted, SendFailed, SendKind
from tests.conftest import serve
from tests.fixtures.services import migrated_database
from tests.ingest.sends_platform import Answer, FakePlatforms, graph_error
from tests.ingest.sends_support import (
    PAGE_ID,
    PAGE_TOKEN,
    PHONE_NUMBER_ID,
    TOKENS,
    WHATSAPP_TOKEN,
    X_TOKEN,
    as_principal,
    create_connection,
    outcomes,
    publish,
    running_ingest,
    send_request,
    send_settings,
)

pytestmark = pytest.mark.integration
BRAND = "acme-sends"


@dataclass
class Env:
    fake: FakePlatforms
    url: str
    client: httpx.AsyncClient
    bootstrap: str
    meta: str
    x: str


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    fake = FakePlatforms(page_id=PAGE_ID)
    database = await migrated_database(postgres_url, "ingest")
    async with serve(fake.app) as platform_url:  # type: ignore[arg-type]
        settings = send_settings(database, kafka_bootstrap, platform_url)
        async with running_ingest(settings) as (url, client):
            meta = await create_connection(url, client, BRAND, "meta")
            x = await create_connection(url, client, BRAND, "x")
            yield Env(fake, url, client, kafka_bootstrap, meta, x)


async def test_send_tokens_are_stored_but_never_returned(env: Env) -> None:
    answer = await env.client.get(
        f"{env.url}/v1/connections/{env.meta}", auth=as_principal("team:write")
    )
    assert answer.status_code == 200
    secrets_set = answer.json()["secrets_set"]
    for name in ("page_access_token", "page_id", "whatsapp_token", "whatsapp_phone_number_id"):
        assert name in secrets_set
    listing = await env.client.get(f"{env.url}/v1/connections", auth=as_principal("team:write"))
    for token in TOKENS:
        assert token not in answer.text
        assert token not in listing.text
    blank = await env.client.patch(
        f"{env.url}/v1/connections/{env.x}",
        json={"secrets": {"x_user_token": "  "}},
        auth=as_principal("team:write"),
    )
    assert blank.status_code == 422
    assert blank.headers["content-type"].startswith("application/problem+json")


async def test_a_reply_requested_twice_is_sent_once(env: Env) -> None:
    text = "Hola Marta, sentimos mucho el retraso. ¿Nos envía su número de pedido por privado?"
    request = send_request(
        BRAND,
        env.meta,
        SendKind.comment_reply,
        Channel.facebook,
        "448_555_701",
        text,
        thread="448_555",
    )
    await publish(env.bootstrap, request, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    assert event.type == "send.completed"
    assert event.key == request.thread_key
    completed = event.data
    assert isinstance(completed, SendCompleted)
    assert completed.case_id == request.case_id
    assert completed.attempts == 1
    [call] = env.fake.calls("POST", "/448_555_701/comments")
    assert call.body == {"message": text}
    assert call.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    assert completed.platform_message_id == env.fake.comments["448_555_701"][0]["id"]
    # Published again later (a routing retry): still one request, still one outcome.
    await publish(env.bootstrap, request)
    await asyncio.sleep(1.0)
    assert len(env.fake.calls("POST", "/448_555_701/comments")) == 1
    assert len(await outcomes(env.bootstrap, request.send_id)) == 1


async def test_every_channel_goes_out_with_its_own_token(env: Env) -> None:
    cases = [
        (
            SendKind.private_message,
            Channel.messenger,
            "6543210001",
            env.meta,
            "Hi Tom, your refund was issued today.",
            f"/{PAGE_ID}/messages",
            PAGE_TOKEN,
        ),
        (
            SendKind.whatsapp_message,
            Channel.whatsapp,
            "34600111333",
            env.meta,
            "Buenos días, su pedido sale hoy.",
            f"/{PHONE_NUMBER_ID}/messages",
            WHATSAPP_TOKEN,
        ),
        (
            SendKind.x_reply,
            Channel.x,
            "1460323737035677001",
            env.x,
            "@ana_g ¡Gracias por avisarnos! Lo revisamos ya.",
            "/2/tweets",
            X_TOKEN,
        ),
        (
            SendKind.x_dm,
            Channel.x,
            "2244994001",
            env.x,
            "Hello Ana, we have sent you a new tracking link.",
            "/2/dm_conversations/with/2244994001/messages",
            X_TOKEN,
        ),
    ]
    requests = [
        send_request(BRAND, connection, kind, channel, target, text)
        for kind, channel, target, connection, text, _path, _token in cases
    ]
    await publish(env.bootstrap, *requests)
    for request, (_kind, _channel, target, _connection, text, path, token) in zip(
        requests, cases, strict=True
    ):
        [event] = await outcomes(env.bootstrap, request.send_id, drain=False)
        assert event.type == "send.completed", event.data
        [call] = [
            call
            for call in env.fake.calls("POST", path)
            if target in str(call.body) or target in call.path
        ]
        assert call.headers["authorization"] == f"Bearer {token}"
        assert text in str(call.body)


async def test_outside_the_window_nothing_is_sent(env: Env) -> None:
    stale = datetime.now(UTC) - timedelta(hours=25)
    request = send_request(
        BRAND,
        env.meta,
        SendKind.private_message,
        Channel.messenger,
        "6543210777",
        "Hola de nuevo, ¿pudo resolverlo?",
        last_inbound_at=stale,
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    failed = event.data
    assert isinstance(failed, SendFailed)
    assert failed.reason == "window_closed"
    assert failed.attempts == 0
    assert "24" in failed.messages["en"]
    assert "24 horas" in failed.messages["es"]
    assert not [call for call in env.fake.requests if "6543210777" in str(call.body)]


async def test_a_rate_limit_is_waited_out_as_the_platform_asks(env: Env) -> None:
    env.fake.script(
        "POST",
        "/2/dm_conversations/with/2244994555/messages",
        Answer(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"},
            headers={"Retry-After": "1"},
        ),
    )
    request = send_request(
        BRAND, env.x, SendKind.x_dm, Channel.x, "2244994555", "Thanks for your patience!"
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    assert isinstance(event.data, SendCompleted)
    assert event.data.attempts == 2
    first, second = env.fake.calls("POST", "/2/dm_conversations/with/2244994555/messages")
    assert second.at - first.at >= 1.0


async def test_an_expired_token_fails_fast_with_the_platform_error(env: Env) -> None:
    env.fake.script(
        "POST",
        "/448_555_790/comments",
        Answer(
            400, graph_error(190, "Error validating access token: Session has expired", subcode=463)
        ),
    )
    request = send_request(
        BRAND, env.meta, SendKind.comment_reply, Channel.facebook, "448_555_790", "Gracias"
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    failed = event.data
    assert isinstance(failed, SendFailed)
    assert failed.reason == "permanent"
    assert failed.code == "token_invalid"
    assert failed.attempts == 1
    assert failed.platform_error is not None
    assert failed.platform_error.code == "190"
    assert failed.platform_error.subcode == "463"
    assert failed.platform_error.message == "Error validating access token: Session has expired"
    assert failed.messages["es"].startswith("La plataforma rechazó el token")
    assert len(env.fake.calls("POST", "/448_555_790/comments")) == 1


async def test_an_outage_that_outlasts_the_retries_fails(env: Env) -> None:
    outage = Answer(503, {"title": "Service Unavailable", "type": "about:blank"})
    env.fake.script("POST", "/2/tweets", outage, outage, outage)
    request = send_request(
        BRAND, env.x, SendKind.x_reply, Channel.x, "1460323737035670503", "We're on it."
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    failed = event.data
    assert isinstance(failed, SendFailed)
    assert failed.reason == "retries_exhausted"
    assert failed.code == "platform_unavailable"
    assert failed.attempts == 3
    assert failed.platform_error is not None
    assert failed.platform_error.http_status == 503


async def test_a_timeout_on_whatsapp_is_uncertain_and_never_repeated(env: Env) -> None:
    path = f"/{PHONE_NUMBER_ID}/messages"
    env.fake.script("POST", path, Answer(processed=True, delay=2.5))
    request = send_request(
        BRAND,
        env.meta,
        SendKind.whatsapp_message,
        Channel.whatsapp,
        "34600999001",
        "Le confirmamos la devolución.",
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    failed = event.data
    assert isinstance(failed, SendFailed)
    assert failed.reason == "uncertain"
    assert failed.code == "timeout"
    assert "Revise la conversación" in failed.messages["es"]
    await asyncio.sleep(1.0)
    assert (
        len([call for call in env.fake.calls("POST", path) if "34600999001" in str(call.body)]) == 1
    )


async def test_a_timeout_on_a_page_comment_looks_before_posting_again(env: Env) -> None:
    text = "Thanks Marta, we've passed this on to our delivery team."
    env.fake.script("POST", "/448_555_801/comments", Answer(processed=True, delay=2.5))
    request = send_request(
        BRAND, env.meta, SendKind.comment_reply, Channel.facebook, "448_555_801", text
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    completed = event.data
    assert isinstance(completed, SendCompleted)
    assert completed.platform_message_id == env.fake.comments["448_555_801"][0]["id"]
    assert completed.attempts == 2
    assert len(env.fake.calls("POST", "/448_555_801/comments")) == 1
    assert len(env.fake.calls("GET", "/448_555_801/comments")) == 1


async def test_a_deleted_comment_fails_without_retries(env: Env) -> None:
    env.fake.script(
        "POST",
        "/448_555_404/comments",
        Answer(
            400,
            graph_error(100, "Object with ID '448_555_404' does not exist", subcode=33),
        ),
    )
    request = send_request(
        BRAND, env.meta, SendKind.comment_reply, Channel.facebook, "448_555_404", "Gracias"
    )
    await publish(env.bootstrap, request)
    [event] = await outcomes(env.bootstrap, request.send_id)
    assert isinstance(event.data, SendFailed)
    assert event.data.code == "target_not_found"
    assert len(env.fake.calls("POST", "/448_555_404/comments")) == 1


async def test_a_connection_of_another_brand_or_none_is_refused(env: Env) -> None:
    other_brand = send_request(
        "another-brand", env.meta, SendKind.comment_reply, Channel.facebook, "448_555_666", "Hola"
    )
    missing = send_request(
        BRAND, "00000000-0000-4000-8000-000000000000", SendKind.x_dm, Channel.x, "1", "Hola"
    )
    await publish(env.bootstrap, other_brand, missing)
    for request in (other_brand, missing):
        [event] = await outcomes(env.bootstrap, request.send_id)
        assert isinstance(event.data, SendFailed)
        assert event.data.code == "connection_not_found"
    assert not env.fake.calls("POST", "/448_555_666/comments")
