"""The platform calls of the send worker against a local HTTP server: the documented request
shape of each platform (path, method, JSON body, bearer token) and how errors, rate limits and
timeouts are read."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from scripts.infra import free_port
from services.ingest.sending.platforms import (
    NotSendable,
    PlatformClient,
    Refused,
    Retry,
    SendTokens,
    Sent,
    Unknown,
    build_check,
    build_send,
    find_earlier_reply,
    storable_message_id,
)
from services.ingest.sending.service import SendPolicy, backoff_seconds
from shared.events.interactions import MAX_PLATFORM_ID, Channel
from shared.events.sends import SendKind
from tests.conftest import serve
from tests.ingest.sends_platform import GRAPH_VERSION, Answer, FakePlatforms, graph_error

TOKENS = SendTokens(
    page_access_token="EAAB-page-token",
    page_id="448",
    whatsapp_token="EAAG-whatsapp-token",
    whatsapp_phone_number_id="106540352242922",
    x_user_token="x-oauth2-user-token",
)


@dataclass
class Platforms:
    fake: FakePlatforms
    client: PlatformClient


@pytest.fixture
async def platforms() -> AsyncIterator[Platforms]:
    fake = FakePlatforms()
    async with serve(fake.app) as url:  # type: ignore[arg-type]
        client = PlatformClient(
            graph_url=f"{url}/{GRAPH_VERSION}", x_url=url, connect_timeout=10, timeout=2
        )
        try:
            yield Platforms(fake, client)
        finally:
            await client.aclose()


CASES: list[tuple[SendKind, Channel, str, str, str, dict[str, Any], str, str]] = [
    (
        SendKind.comment_reply,
        Channel.facebook,
        "448_555_777",
        "Hola Marta, lamentamos el retraso. ¿Nos indica su número de pedido?",
        "/448_555_777/comments",
        {"message": "Hola Marta, lamentamos el retraso. ¿Nos indica su número de pedido?"},
        "EAAB-page-token",
        "448_555_777_",
    ),
    (
        SendKind.comment_reply,
        Channel.instagram,
        "17858893269000001",
        "Thank you so much for the kind words!",
        "/17858893269000001/replies",
        {"message": "Thank you so much for the kind words!"},
        "EAAB-page-token",
        "17858893269000001_",
    ),
    (
        SendKind.private_message,
        Channel.messenger,
        "6543210987654321",
        "Hi Tom, your order ships tomorrow.",
        "/448/messages",
        {
            "recipient": {"id": "6543210987654321"},
            "messaging_type": "RESPONSE",
            "message": {"text": "Hi Tom, your order ships tomorrow."},
        },
        "EAAB-page-token",
        "m_",
    ),
    (
        SendKind.private_message,
        Channel.instagram,
        "1789000000000042",
        "¡Gracias por escribirnos! Le respondemos por aquí.",
        "/448/messages",
        {
            "recipient": {"id": "1789000000000042"},
            "messaging_type": "RESPONSE",
            "message": {"text": "¡Gracias por escribirnos! Le respondemos por aquí."},
        },
        "EAAB-page-token",
        "m_",
    ),
    (
        SendKind.whatsapp_message,
        Channel.whatsapp,
        "34600111222",
        "Buenos días, su pedido ya está en camino.",
        "/106540352242922/messages",
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "34600111222",
            "type": "text",
            "text": {"preview_url": False, "body": "Buenos días, su pedido ya está en camino."},
        },
        "EAAG-whatsapp-token",
        "wamid.",
    ),
    (
        SendKind.x_reply,
        Channel.x,
        "1460323737035677698",
        "@ana_g We're sorry! Please DM us your order number.",
        "/2/tweets",
        {
            "text": "@ana_g We're sorry! Please DM us your order number.",
            "reply": {"in_reply_to_tweet_id": "1460323737035677698"},
        },
        "x-oauth2-user-token",
        "18",
    ),
    (
        SendKind.x_dm,
        Channel.x,
        "2244994945",
        "Hola Ana, ya hemos tramitado el reembolso.",
        "/2/dm_conversations/with/2244994945/messages",
        {"text": "Hola Ana, ya hemos tramitado el reembolso."},
        "x-oauth2-user-token",
        "17",
    ),
]


@pytest.mark.parametrize(
    ("kind", "channel", "target", "text", "path", "body", "token", "id_prefix"), CASES
)
async def test_each_kind_sends_the_documented_request(
    platforms: Platforms,
    kind: SendKind,
    channel: Channel,
    target: str,
    text: str,
    path: str,
    body: dict[str, Any],
    token: str,
    id_prefix: str,
) -> None:
    outcome = await platforms.client.send(build_send(kind, channel, target, text, TOKENS))
    assert isinstance(outcome, Sent), outcome
    assert outcome.message_id.startswith(id_prefix)
    [call] = platforms.fake.requests
    assert call.method == "POST"
    assert call.path == path
    assert call.body == body
    assert call.headers["authorization"] == f"Bearer {token}"
    assert call.headers["content-type"] == "application/json"
    assert "access_token" not in call.query  # the token is in the header only


async def test_graph_calls_carry_the_configured_version(platforms: Platforms) -> None:
    request = build_send(SendKind.comment_reply, Channel.facebook, "1_2", "Gracias", TOKENS)
    assert platforms.client.bases["graph"].endswith(f"/{GRAPH_VERSION}")
    assert request.path == "/1_2/comments"
    assert "EAAB-page-token" not in repr(request)


async def test_rate_limit_honours_retry_after(platforms: Platforms) -> None:
    platforms.fake.script(
        "POST",
        "/448/messages",
        Answer(
            429,
            graph_error(613, "Calls to this api have exceeded the rate limit."),
            headers={"Retry-After": "7"},
        ),
    )
    request = build_send(SendKind.private_message, Channel.messenger, "65", "Hi", TOKENS)
    outcome = await platforms.client.send(request)
    assert isinstance(outcome, Retry)
    assert outcome.code == "rate_limited"
    assert outcome.retry_after == 7.0
    assert outcome.error is not None
    assert outcome.error.code == "613"


async def test_x_rate_limit_reset_is_honoured(platforms: Platforms) -> None:
    reset = int(time.time()) + 30
    platforms.fake.script(
        "POST",
        "/2/tweets",
        Answer(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"},
            headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
        ),
    )
    outcome = await platforms.client.send(
        build_send(SendKind.x_reply, Channel.x, "99", "Thanks!", TOKENS)
    )
    assert isinstance(outcome, Retry)
    assert outcome.retry_after is not None
    assert 25 <= outcome.retry_after <= 31


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, graph_error(4, "Application request limit reached"), "rate_limited"),
        (400, graph_error(130429, "Rate limit hit"), "rate_limited"),
        (
            400,
            graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit"),
            "rate_limited",
        ),
        (500, graph_error(2, "Service temporarily unavailable"), "platform_unavailable"),
        (503, None, "platform_unavailable"),
        (502, {"error": {"message": "x", "code": 1, "is_transient": True}}, "platform_unavailable"),
    ],
)
async def test_transient_answers_are_retried(
    platforms: Platforms, status: int, body: Any, code: str
) -> None:
    platforms.fake.script("POST", "/106540352242922/messages", Answer(status, body))
    request = build_send(SendKind.whatsapp_message, Channel.whatsapp, "34600", "Hola", TOKENS)
    outcome = await platforms.client.send(request)
    assert isinstance(outcome, Retry), outcome
    assert outcome.code == code


@pytest.mark.parametrize(
    ("kind", "path", "status", "body", "code", "platform_code"),
    [
        (
            SendKind.comment_reply,
            "/448_1/comments",
            400,
            graph_error(190, "Error validating access token: Session has expired", subcode=463),
            "token_invalid",
            "190",
        ),
        (
            SendKind.comment_reply,
            "/448_1/comments",
            400,
            graph_error(
                100,
                "Unsupported post request. Object with ID '448_1' does not exist",
                subcode=33,
            ),
            "target_not_found",
            "100",
        ),
        (
            SendKind.private_message,
            "/448/messages",
            400,
            graph_error(10, "This message is sent outside of allowed window.", subcode=2018278),
            "window_closed",
            "10",
        ),
        (
            SendKind.whatsapp_message,
            "/106540352242922/messages",
            400,
            graph_error(131047, "Re-engagement message"),
            "window_closed",
            "131047",
        ),
        (
            SendKind.private_message,
            "/448/messages",
            400,
            graph_error(200, "Requires pages_messaging permission"),
            "permission_denied",
            "200",
        ),
        (
            SendKind.x_reply,
            "/2/tweets",
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
            "token_invalid",
            "about:blank",
        ),
        (
            SendKind.x_dm,
            "/2/dm_conversations/with/1_1/messages",
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "You are not permitted to send this Direct Message.",
            },
            "permission_denied",
            "about:blank",
        ),
    ],
)
async def test_permanent_errors_fail_fast_with_the_platform_error_kept(
    platforms: Platforms,
    kind: SendKind,
    path: str,
    status: int,
    body: Any,
    code: str,
    platform_code: str,
) -> None:
    channel = {
        SendKind.comment_reply: Channel.facebook,
        SendKind.private_message: Channel.messenger,
        SendKind.whatsapp_message: Channel.whatsapp,
        SendKind.x_reply: Channel.x,
        SendKind.x_dm: Channel.x,
    }[kind]
    target = {"/448_1/comments": "448_1", "/2/dm_conversations/with/1_1/messages": "1_1"}.get(
        path, "1234"
    )
    platforms.fake.script("POST", path, Answer(status, body))
    outcome = await platforms.client.send(build_send(kind, channel, target, "Hola", TOKENS))
    assert isinstance(outcome, Refused), outcome
    assert outcome.code == code
    assert outcome.error is not None
    assert outcome.error.http_status == status
    assert outcome.error.code == platform_code
    assert outcome.error.message
    assert len(platforms.fake.requests) == 1


async def test_a_slow_platform_makes_the_outcome_unknown_not_a_retry(
    platforms: Platforms,
) -> None:
    platforms.fake.script("POST", "/448/messages", Answer(processed=True, delay=4.0))
    request = build_send(SendKind.private_message, Channel.messenger, "65", "Hola", TOKENS)
    outcome = await platforms.client.send(request)
    assert isinstance(outcome, Unknown)
    assert outcome.code == "timeout"
    assert len(platforms.fake.requests) == 1


async def test_a_platform_that_cannot_be_reached_is_retried() -> None:
    client = PlatformClient(
        graph_url=f"http://127.0.0.1:{free_port()}/{GRAPH_VERSION}",
        x_url="http://127.0.0.1:1",
        connect_timeout=1,
        timeout=1,
    )
    try:
        request = build_send(SendKind.x_dm, Channel.x, "42", "Hello", TOKENS)
        outcome = await client.send(request)
    finally:
        await client.aclose()
    assert isinstance(outcome, Retry)
    assert outcome.code == "platform_unreachable"


async def test_a_success_without_an_id_is_unknown(platforms: Platforms) -> None:
    platforms.fake.script("POST", "/2/tweets", Answer(201, {"data": {}}))
    outcome = await platforms.client.send(
        build_send(SendKind.x_reply, Channel.x, "99", "Thanks!", TOKENS)
    )
    assert isinstance(outcome, Unknown)
    assert outcome.code == "unreadable_answer"


async def test_the_check_lists_the_comment_replies_newest_first(platforms: Platforms) -> None:
    text = "Gracias por avisarnos, ya lo estamos revisando."
    sent = await platforms.client.send(
        build_send(SendKind.comment_reply, Channel.facebook, "448_9", text, TOKENS)
    )
    assert isinstance(sent, Sent)
    check = build_check("448_9", TOKENS)
    answer = await platforms.client.call(check)
    assert not isinstance(answer, (Retry, Unknown))
    call = platforms.fake.calls("GET")[0]
    assert call.path == "/448_9/comments"
    assert call.query["order"] == "reverse_chronological"
    assert call.headers["authorization"] == "Bearer EAAB-page-token"
    assert find_earlier_reply(answer.json(), page_id="448", text=text) == sent.message_id
    assert find_earlier_reply(answer.json(), page_id="999", text=text) is None
    assert find_earlier_reply(answer.json(), page_id="448", text="otro texto") is None


@pytest.mark.parametrize("target", ["../me", "448/../../x", "a?b=c", "", "1 2", "x" * 201])
def test_ids_that_are_not_platform_ids_are_refused_before_a_call(target: str) -> None:
    with pytest.raises(NotSendable) as refused:
        build_send(SendKind.comment_reply, Channel.facebook, target, "Hola", TOKENS)
    assert refused.value.code == "invalid_target"


@pytest.mark.parametrize(
    ("kind", "channel"),
    [
        (SendKind.comment_reply, Channel.facebook),
        (SendKind.private_message, Channel.messenger),
        (SendKind.whatsapp_message, Channel.whatsapp),
        (SendKind.x_reply, Channel.x),
        (SendKind.x_dm, Channel.x),
    ],
)
def test_a_connection_without_the_token_is_refused_before_a_call(
    kind: SendKind, channel: Channel
) -> None:
    with pytest.raises(NotSendable) as refused:
        build_send(kind, channel, "123", "Hello", SendTokens())
    assert refused.value.code == "token_missing"


def test_backoff_grows_with_jitter_and_never_undercuts_retry_after() -> None:
    policy = SendPolicy(
        max_attempts=6,
        backoff_base_seconds=2,
        backoff_max_seconds=60,
        window=timedelta(hours=24),
        lease=timedelta(seconds=30),
    )
    rng = random.Random(7)
    first = [backoff_seconds(policy, 1, None, rng) for _ in range(200)]
    assert 1.0 <= min(first)
    assert max(first) <= 2.0
    assert len({round(value, 3) for value in first}) > 100  # jittered
    fifth = [backoff_seconds(policy, 5, None, rng) for _ in range(200)]
    assert 16.0 <= min(fifth)
    assert max(fifth) <= 32.0
    capped = [backoff_seconds(policy, 20, None, rng) for _ in range(50)]
    assert max(capped) <= 60.0
    honoured = [backoff_seconds(policy, 1, 45.0, rng) for _ in range(50)]
    assert min(honoured) >= 45.0


@pytest.mark.parametrize(
    ("kind", "channel", "path", "body"),
    [
        (SendKind.x_reply, Channel.x, "/2/tweets", lambda long: {"data": {"id": long}}),
        (
            SendKind.whatsapp_message,
            Channel.whatsapp,
            "/106540352242922/messages",
            lambda long: {"messages": [{"id": long}]},
        ),
        (
            SendKind.private_message,
            Channel.messenger,
            "/448/messages",
            lambda long: {"recipient_id": "1", "message_id": long},
        ),
    ],
)
async def test_a_sent_message_id_too_long_to_store_is_kept_as_its_digest(
    platforms: Platforms,
    kind: SendKind,
    channel: Channel,
    path: str,
    body: Callable[[str], dict[str, Any]],
) -> None:
    """The message is out: its id of the full length is kept, a longer one as a digest that
    fits `sends.platform_message_id` (the send is not made to look lost, nor tried again)."""
    exactly = "m" * MAX_PLATFORM_ID
    too_long = "m" * (MAX_PLATFORM_ID + 1)
    target = "34600111222" if channel is Channel.whatsapp else "6543210987654321"
    platforms.fake.script("POST", path, Answer(200, body(exactly)), Answer(200, body(too_long)))
    request = build_send(kind, channel, target, "Gracias.", TOKENS)
    first = await platforms.client.send(request)
    second = await platforms.client.send(request)
    assert isinstance(first, Sent)
    assert first.message_id == exactly
    assert isinstance(second, Sent)
    assert len(second.message_id) <= MAX_PLATFORM_ID
    assert second.message_id == storable_message_id(too_long) != storable_message_id(exactly)
    listing = {"data": [{"id": too_long, "message": "Gracias.", "from": {"id": "448"}}]}
    assert find_earlier_reply(listing, page_id="448", text="Gracias.") == second.message_id
