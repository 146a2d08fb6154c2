"""Ingest over real HTTP with PostgreSQL and Kafka: connections, webhooks, REST intake."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from scripts.infra import KafkaBroker, free_port
from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from services.ingest.platforms.signatures import meta_signature, x_crc_response_token, x_signature
from shared.auth import Principal, PrincipalAuth
from shared.events.envelope import Envelope
from shared.events.interactions import DeliveryStatus, Interaction
from shared.events.topics import INTERACTIONS
from tests.conftest import serve
from tests.fixtures.services import migrated_database, read_events, served

pytestmark = pytest.mark.integration

SECRET = "ingest-test-internal-secret"
APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
X_SECRET = "x-consumer-secret-for-tests"


def as_principal(*scopes: str) -> PrincipalAuth:
    """Signs each request as the gateway would for a key with `scopes`."""
    principal = Principal(key_id=f"key-{'-'.join(scopes)}", scopes=frozenset(scopes))
    return PrincipalAuth(principal, SECRET, "ingest")


@dataclass
class Ingest:
    url: str
    client: httpx.AsyncClient
    bootstrap: str

    async def connection(self, platform: str, brand_id: str, accounts: list[str]) -> str:
        secrets = (
            {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
            if platform == "meta"
            else {"consumer_secret": X_SECRET}
        )
        response = await self.client.post(
            f"{self.url}/v1/connections",
            json={
                "brand_id": brand_id,
                "platform": platform,
                "name": f"{brand_id} {platform}",
                "account_ids": accounts,
                "secrets": secrets,
                "default_lang": "es",
            },
            auth=as_principal("team:write"),
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert APP_SECRET not in response.text
        assert X_SECRET not in response.text
        connection_id: str = body["id"]
        return connection_id

    async def post_meta(self, connection_id: str, payload: dict[str, Any]) -> httpx.Response:
        return await self.post_meta_body(connection_id, json.dumps(payload).encode())

    async def post_meta_body(self, connection_id: str, body: bytes) -> httpx.Response:
        """POST raw bytes to the Meta webhook, signed with the connection's app secret."""
        return await self.client.post(
            f"{self.url}/v1/webhooks/meta/{connection_id}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(body, APP_SECRET),
            },
        )


@pytest.fixture(scope="module")
async def ingest(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Ingest]:
    database = await migrated_database(postgres_url, "ingest")
    app = create_app(
        IngestSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            outbox_poll_interval_seconds=0.05,
        )
    )
    async with served(app) as (url, client):
        yield Ingest(url, client, kafka_bootstrap)


async def events_for(bootstrap: str, brand_id: str, expected: int) -> list[Envelope]:
    """Read socialcare.interactions from the start; keep this brand's events."""
    return await read_events(
        bootstrap,
        INTERACTIONS,
        lambda envelope: getattr(envelope.data, "brand_id", None) == brand_id,
        expected,
        drain=True,
    )


def feed_comment(page_id: str, comment_id: str, text: str) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": 1763800000,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "comment",
                            "verb": "add",
                            "post_id": f"{page_id}_555",
                            "comment_id": comment_id,
                            "parent_id": f"{page_id}_555",
                            "created_time": 1763800000,
                            "from": {"id": "9001", "name": "Marta López"},
                            "message": text,
                        },
                    }
                ],
            }
        ],
    }


async def test_meta_handshake(ingest: Ingest) -> None:
    connection_id = await ingest.connection("meta", f"brand-{uuid.uuid4().hex[:8]}", ["111"])
    url = f"{ingest.url}/v1/webhooks/meta/{connection_id}"
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await ingest.client.get(url, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    wrong = await ingest.client.get(url, params={**params, "hub.verify_token": "nope"})
    assert wrong.status_code == 403
    assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_signed_comment_becomes_one_enriched_event_and_duplicates_are_acknowledged(
    ingest: Ingest,
) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    connection_id = await ingest.connection("meta", brand, ["222"])
    text = (
        "Llevo dos semanas esperando mi pedido y nadie me responde. Es una vergüenza. "
        "Mi correo es marta.lopez@example.com"
    )
    payload = feed_comment("222", "222_555_777", text)
    first = await ingest.post_meta(connection_id, payload)
    assert first.status_code == 200, first.text
    ack = first.json()
    assert ack["accepted"] is True
    again = await ingest.post_meta(connection_id, payload)
    assert again.status_code == 200
    assert again.json()["delivery_id"] != ack["delivery_id"]
    # Deliveries of one connection are processed in order: once the sentinel's event is out,
    # the duplicate before it has been handled too.
    await ingest.post_meta(connection_id, feed_comment("222", "222_555_999", "Gracias"))

    events = await events_for(ingest.bootstrap, brand, 2)
    assert [event.type for event in events] == ["interaction.received"] * 2
    assert [getattr(event.data, "external_id", None) for event in events] == [
        "222_555_777",
        "222_555_999",
    ]
    interaction = events[0].data
    assert isinstance(interaction, Interaction)
    assert interaction.channel == "facebook"
    assert interaction.kind == "comment"
    assert interaction.text == text
    assert interaction.lang == "es"
    assert interaction.sentiment is not None
    assert interaction.sentiment.label == "negative"
    assert interaction.flags.pii is True
    assert interaction.author.display_name == "Marta López"
    assert events[0].key == f"{brand}:facebook:222_555"

    stored = await ingest.client.get(
        f"{ingest.url}/v1/interactions/{interaction.id}",
        auth=as_principal("interactions:read"),
    )
    assert stored.status_code == 200
    assert stored.json()["external_id"] == "222_555_777"


async def test_edit_and_removal_become_updated_and_deleted(ingest: Ingest) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    connection_id = await ingest.connection("meta", brand, ["333"])
    await ingest.post_meta(connection_id, feed_comment("333", "333_1_2", "Great store, thanks!"))
    edited = feed_comment("333", "333_1_2", "Great store, thanks a lot!")
    edited["entry"][0]["changes"][0]["value"]["verb"] = "edited"
    assert (await ingest.post_meta(connection_id, edited)).json()["accepted"] is True
    removed = feed_comment("333", "333_1_2", "")
    removed["entry"][0]["changes"][0]["value"]["verb"] = "remove"
    assert (await ingest.post_meta(connection_id, removed)).json()["accepted"] is True
    events = await events_for(ingest.bootstrap, brand, 3)
    assert [event.type for event in events] == [
        "interaction.received",
        "interaction.updated",
        "interaction.deleted",
    ]
    ids = {getattr(event.data, "id", None) for event in events}
    assert len(ids) == 1  # one interaction, three changes


async def test_bad_requests_are_explained_and_never_echo_the_body(ingest: Ingest) -> None:
    connection_id = await ingest.connection("meta", f"brand-{uuid.uuid4().hex[:8]}", ["444"])
    url = f"{ingest.url}/v1/webhooks/meta/{connection_id}"
    body = b'{"object": "page", "entry": [], "secret": "do-not-echo"}'
    bad = await ingest.client.post(
        url,
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"},
    )
    assert bad.status_code == 401
    assert "do-not-echo" not in bad.text
    assert bad.json()["title"] == "Invalid signature"

    malformed = b'{"object": "page", "entry": ['
    response = await ingest.post_meta_body(connection_id, malformed)
    assert response.status_code == 400
    assert response.json()["field"] == "body"

    # An unsigned request is refused before its body is read; a signed one is read up to the
    # limit only.
    huge = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = await ingest.client.post(
        url, content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    signed = {"X-Hub-Signature-256": meta_signature(huge, APP_SECRET)}
    response = await ingest.client.post(
        url, content=huge, headers={"Content-Type": "application/json", **signed}
    )
    assert response.status_code == 413

    response = await ingest.client.post(
        url, content=b"a=b", headers={"Content-Type": "text/plain", **signed}
    )
    assert response.status_code == 415
    assert response.json()["field"] == "Content-Type"


async def test_webhooks_take_the_fast_path_with_request_ids_metrics_and_problems(
    ingest: Ingest,
) -> None:
    connection_id = await ingest.connection("meta", f"brand-{uuid.uuid4().hex[:8]}", ["448"])
    accepted = await ingest.post_meta(
        connection_id, feed_comment("448", "448_1_1", "¿Me ayudáis con mi pedido?")
    )
    assert accepted.status_code == 200
    assert accepted.headers["content-type"] == "application/json"
    assert accepted.json()["accepted"] is True
    assert uuid.UUID(accepted.json()["delivery_id"]).version == 4
    assert len(accepted.headers["x-request-id"]) == 32

    # A body that is not UTF-8 is the sender's error (400), never a 500.
    latin1 = '{"object": "page", "entry": [], "note": "pequeño"}'.encode("latin-1")
    response = await ingest.post_meta_body(connection_id, latin1)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"

    unknown = await ingest.post_meta(str(uuid.uuid4()), feed_comment("448", "448_1_2", "hi"))
    assert unknown.status_code == 404
    assert unknown.json()["instance"].startswith("/v1/webhooks/meta/")
    # An X connection is not a Meta one.
    x_connection = await ingest.connection("x", f"brand-{uuid.uuid4().hex[:8]}", ["42"])
    assert (
        await ingest.post_meta(x_connection, feed_comment("448", "448_1_3", "hi"))
    ).status_code == 404

    metrics = (await ingest.client.get(f"{ingest.url}/metrics")).text
    assert (
        'socialcare_http_requests_total{method="POST",route="/v1/webhooks/meta/{connection_id}",'
        'service="ingest",status="200"}'
    ) in metrics


async def test_secret_rotation_keeps_the_old_secret_valid_for_the_grace_period(
    ingest: Ingest,
) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    connection_id = await ingest.connection("meta", brand, ["555"])
    rotated = await ingest.client.patch(
        f"{ingest.url}/v1/connections/{connection_id}",
        json={"secrets": {"app_secret": "the-new-app-secret"}},
        auth=as_principal("team:write"),
    )
    assert rotated.status_code == 200
    assert rotated.json()["previous_secrets_valid_until"] is not None
    assert "the-new-app-secret" not in rotated.text
    old = await ingest.post_meta(connection_id, feed_comment("555", "555_1_1", "Hola, ¿abrís hoy?"))
    assert old.status_code == 200
    body = json.dumps(feed_comment("555", "555_1_2", "Hello, open today?")).encode()
    new = await ingest.client.post(
        f"{ingest.url}/v1/webhooks/meta/{connection_id}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(body, "the-new-app-secret"),
        },
    )
    assert new.status_code == 200


async def test_the_old_secret_stops_working_once_the_grace_period_is_over(
    postgres_url: str, kafka_bootstrap: str
) -> None:
    database = await migrated_database(postgres_url, "ingest")
    grace_seconds = 1
    app = create_app(
        IngestSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            secret_rotation_grace_seconds=grace_seconds,
            consumers_enabled=False,
        )
    )
    async with serve(app) as url, httpx.AsyncClient(timeout=30) as client:
        short = Ingest(url, client, kafka_bootstrap)
        connection_id = await short.connection("meta", f"brand-{uuid.uuid4().hex[:8]}", ["556"])
        rotated = await client.patch(
            f"{url}/v1/connections/{connection_id}",
            json={"secrets": {"app_secret": "the-new-app-secret"}},
            auth=as_principal("team:write"),
        )
        assert rotated.status_code == 200, rotated.text
        comment = feed_comment("556", "556_1_1", "Hola, ¿abrís hoy?")
        assert (await short.post_meta(connection_id, comment)).status_code == 200
        await asyncio.sleep(grace_seconds + 0.5)
        late = await short.post_meta(connection_id, feed_comment("556", "556_1_2", "¿Hola?"))
        assert late.status_code == 401, late.text
        assert late.headers["content-type"].startswith("application/problem+json")
        body = json.dumps(feed_comment("556", "556_1_3", "Hello, open today?")).encode()
        new = await client.post(
            f"{url}/v1/webhooks/meta/{connection_id}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(body, "the-new-app-secret"),
            },
        )
        assert new.status_code == 200, new.text


def messenger_receipt(page_id: str, psid: str, receipt: dict[str, Any]) -> dict[str, Any]:
    """A Messenger receipt as Meta posts it: the customer is the sender, the page the
    recipient."""
    event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": 1795474000500}
    return {
        "object": "page",
        "entry": [{"id": page_id, "time": 1795474001000, "messaging": [{**event, **receipt}]}],
    }


async def test_messenger_receipts_are_published_as_delivery_reports(ingest: Ingest) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    connection_id = await ingest.connection("meta", brand, ["444"])
    delivered = messenger_receipt("444", "2718", {"delivery": {"mids": ["m_1"], "watermark": 1}})
    read = messenger_receipt("444", "2718", {"read": {"watermark": 1795474000300}})
    later = messenger_receipt("444", "2718", {"read": {"watermark": 1795474000450}})
    for payload in (delivered, read, read, later):  # `read` redelivered: a duplicate
        response = await ingest.post_meta(connection_id, payload)
        assert response.status_code == 200, response.text
    # Typing indicators are acknowledged and publish nothing.
    typing = messenger_receipt("444", "2718", {"typing_on": {}})
    assert (await ingest.post_meta(connection_id, typing)).status_code == 200
    await ingest.post_meta(connection_id, feed_comment("444", "444_555_1", "Gracias"))

    found = await events_for(ingest.bootstrap, brand, 4)
    # The reports share the conversation's key (one partition, in order); the comment is in
    # its own thread, on whichever partition that key maps to, so read apart from them.
    events = [event for event in found if event.type == "interaction.delivery_status"]
    assert [event.type for event in found if event not in events] == ["interaction.received"]
    assert len(events) == 3
    reports = [event.data for event in events]
    assert all(isinstance(report, DeliveryStatus) for report in reports)
    assert [
        (r.status, r.external_id, r.watermark.isoformat() if r.watermark else None)
        for r in reports
        if isinstance(r, DeliveryStatus)
    ] == [
        ("delivered", "m_1", None),
        ("read", "watermark:2718:1795474000300", "2026-11-23T22:46:40.300000+00:00"),
        ("read", "watermark:2718:1795474000450", "2026-11-23T22:46:40.450000+00:00"),
    ]
    assert {event.key for event in events} == {f"{brand}:messenger:2718"}
    assert {getattr(r, "account_external_id", None) for r in reports} == {"444"}


async def test_x_crc_and_signed_mention(ingest: Ingest) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    connection_id = await ingest.connection("x", brand, ["2244994945"])
    crc = await ingest.client.get(
        f"{ingest.url}/v1/webhooks/x/{connection_id}", params={"crc_token": "challenge-123"}
    )
    assert crc.json() == {"response_token": x_crc_response_token("challenge-123", X_SECRET)}
    payload = {
        "for_user_id": "2244994945",
        "tweet_create_events": [
            {
                "id_str": "1800000000000000001",
                "created_at": "Wed Nov 19 10:00:00 +0000 2026",
                "text": "@acme my order never arrived and support is ignoring me",
                "user": {
                    "id_str": "77",
                    "screen_name": "sam_k",
                    "name": "Sam K",
                    "followers_count": 1200,
                    "verified": False,
                },
                "entities": {"user_mentions": [{"id_str": "2244994945"}]},
            }
        ],
    }
    body = json.dumps(payload).encode()
    unsigned = await ingest.client.post(
        f"{ingest.url}/v1/webhooks/x/{connection_id}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert unsigned.status_code == 401
    signed = await ingest.client.post(
        f"{ingest.url}/v1/webhooks/x/{connection_id}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": x_signature(body, X_SECRET),
        },
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["accepted"] is True
    (event,) = await events_for(ingest.bootstrap, brand, 1)
    assert isinstance(event.data, Interaction)
    assert event.data.channel == "x"
    assert event.data.lang == "en"
    assert event.data.author.handle == "sam_k"
    assert event.data.sentiment is not None
    assert event.data.sentiment.label == "negative"


async def test_rest_intake_batch_reports_items_and_honours_idempotency(ingest: Ingest) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    auth = as_principal("ingest:write")
    headers = {"Idempotency-Key": f"batch-{brand}"}
    items = [
        {
            "brand_id": brand,
            "channel": "google_reviews",
            "kind": "review",
            "external_id": "review-1",
            "text": "Atención excelente, me resolvieron el problema en cinco minutos. ¡Gracias!",
            "created_at": "2026-11-20T10:15:00Z",
        },
        {"brand_id": brand, "channel": "myspace", "kind": "review", "external_id": "r-2"},
        {
            "brand_id": brand,
            "channel": "youtube",
            "kind": "comment",
            "external_id": "yt-1",
            "thread_external_id": "video-9",
            "text": "The unboxing video was awesome, when does it ship to Mexico?",
            "created_at": "2026-11-20T11:00:00+01:00",
        },
    ]
    response = await ingest.client.post(
        f"{ingest.url}/v1/interactions", json={"items": items}, headers=headers, auth=auth
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (2, 0, 1)
    rejected = result["items"][1]
    assert rejected["status"] == "rejected"
    fields = {error["field"] for error in rejected["errors"]}
    assert {"channel", "created_at"} <= fields

    replay = await ingest.client.post(
        f"{ingest.url}/v1/interactions", json={"items": items}, headers=headers, auth=auth
    )
    assert replay.json() == result
    assert replay.headers["idempotent-replay"] == "true"
    conflict = await ingest.client.post(
        f"{ingest.url}/v1/interactions", json={"items": items[:1]}, headers=headers, auth=auth
    )
    assert conflict.status_code == 409

    # Re-sent without the key: recognised as duplicates, no new events.
    resent = await ingest.client.post(
        f"{ingest.url}/v1/interactions",
        json={"items": items},
        auth=as_principal("ingest:write"),
    )
    assert resent.json()["duplicates"] == 2

    events = await events_for(ingest.bootstrap, brand, 2)
    assert sorted(event.data.channel for event in events) == ["google_reviews", "youtube"]  # type: ignore[attr-defined]
    langs = {event.data.channel: event.data.lang for event in events}  # type: ignore[attr-defined]
    assert langs == {"google_reviews": "es", "youtube": "en"}

    listing = await ingest.client.get(
        f"{ingest.url}/v1/interactions",
        params={"brand_id": brand, "limit": 1},
        auth=as_principal("interactions:read"),
    )
    page = listing.json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    second = await ingest.client.get(
        f"{ingest.url}/v1/interactions",
        params={"brand_id": brand, "limit": 1, "cursor": page["next_cursor"]},
        auth=as_principal("interactions:read"),
    )
    assert second.json()["items"][0]["id"] != page["items"][0]["id"]
    assert second.json()["next_cursor"] is None


async def test_batch_over_the_limit_is_413(ingest: Ingest) -> None:
    item = {
        "brand_id": "b",
        "channel": "email",
        "kind": "comment",
        "external_id": "e",
        "created_at": "2026-11-20T10:15:00Z",
    }
    response = await ingest.client.post(
        f"{ingest.url}/v1/interactions",
        json={"items": [item] * 1001},
        auth=as_principal("ingest:write"),
    )
    assert response.status_code == 413


async def test_database_down_answers_503_with_retry_after(kafka_bootstrap: str) -> None:
    app = create_app(
        IngestSettings(
            database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none",
            kafka_bootstrap=kafka_bootstrap,
            kafka_enabled=False,
            internal_secret=SecretStr(SECRET),
        )
    )
    async with serve(app) as url, httpx.AsyncClient(timeout=30) as client:
        body = json.dumps(feed_comment("1", "1_2_3", "hola")).encode()
        response = await client.post(
            f"{url}/v1/webhooks/meta/{uuid.uuid4()}",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"},
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        ready = await client.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unavailable")


async def test_concurrent_deliveries_share_batches_and_dedupe_exactly(ingest: Ingest) -> None:
    """Platforms retry in parallel: 25 comments each delivered twice at once → 25 events."""
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    connection_id = await ingest.connection("meta", brand, ["666"])
    texts = ["¿Tenéis la talla M en azul?", "Do you ship to Canarias?"]
    payloads = [
        feed_comment("666", f"666_9_{index}", f"{texts[index % 2]} ({index})")
        for index in range(25)
    ]
    responses = await asyncio.gather(
        *(ingest.post_meta(connection_id, payload) for payload in payloads * 2)
    )
    assert {response.status_code for response in responses} == {200}
    await ingest.post_meta(connection_id, feed_comment("666", "666_9_sentinel", "¿Y en rojo?"))
    events = await events_for(ingest.bootstrap, brand, 26)
    assert len(events) == 26
    assert getattr(events[-1].data, "external_id", None) == "666_9_sentinel"
    events = events[:-1]
    assert len({event.data.id for event in events}) == 25  # type: ignore[attr-defined]
    langs = sorted({event.data.lang for event in events})  # type: ignore[attr-defined]
    assert langs == ["en", "es"]


async def test_without_the_event_bus_webhooks_answer_503_so_platforms_retry(
    postgres_url: str,
) -> None:
    database = await migrated_database(postgres_url, "ingest")
    app = create_app(
        IngestSettings(
            database_url=database, kafka_enabled=False, internal_secret=SecretStr(SECRET)
        )
    )
    async with serve(app) as url, httpx.AsyncClient(timeout=30) as client:
        created = await client.post(
            f"{url}/v1/connections",
            json={
                "brand_id": "acme",
                "platform": "meta",
                "name": "acme",
                "account_ids": ["777"],
                "secrets": {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN},
            },
            auth=as_principal("team:write"),
        )
        body = json.dumps(feed_comment("777", "777_1_1", "¿Hay alguien ahí?")).encode()
        response = await client.post(
            f"{url}/v1/webhooks/meta/{created.json()['id']}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(body, APP_SECRET),
            },
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "event bus" in response.json()["detail"]


async def test_when_the_broker_goes_away_webhooks_are_refused_in_time_and_the_service_stops(
    postgres_url: str, tmp_path: Path
) -> None:
    """A broker of its own, stopped mid-run: webhooks get 503 + Retry-After within the ack
    timeout instead of hanging, and the service still shuts down."""
    broker = KafkaBroker(tmp_path / "kafka", free_port(), free_port())
    await asyncio.to_thread(broker.start)  # blocking calls: off the loop the server runs on
    try:
        database = await migrated_database(postgres_url, "ingest")
        app = create_app(
            IngestSettings(
                database_url=database,
                kafka_bootstrap=broker.bootstrap,
                internal_secret=SecretStr(SECRET),
                consumers_enabled=False,
                webhook_ack_timeout_seconds=1.0,
            )
        )
        client = httpx.AsyncClient(timeout=30)
        async with serve(app) as url:
            ingest = Ingest(url, client, broker.bootstrap)
            connection_id = await ingest.connection("meta", "acme", ["888"])
            # A fresh broker's first produce (metadata, partition leaders) can take longer than
            # the 1 s ack timeout on a loaded machine: resend as a platform would until it lands.
            deadline = time.monotonic() + 30
            while True:
                accepted = await ingest.post_meta(
                    connection_id, feed_comment("888", "888_1_1", "Hola")
                )
                if accepted.status_code != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert accepted.status_code == 200, accepted.text
            await asyncio.to_thread(broker.stop)
            started = time.monotonic()
            refused = await asyncio.gather(
                *(
                    ingest.post_meta(connection_id, feed_comment("888", f"888_1_{n}", "¿Hola?"))
                    for n in range(2, 6)
                )
            )
            assert [response.status_code for response in refused] == [503] * 4
            assert time.monotonic() - started < 5
            assert refused[0].headers["retry-after"] == "5"
            assert "event bus" in refused[0].json()["detail"]
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 25  # shutdown is bounded with Kafka gone
        await client.aclose()
    finally:
        await asyncio.to_thread(broker.stop)
