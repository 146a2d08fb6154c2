"""Messenger receipts on our replies, end to end with ingest, routing and guidelines running for
real (PostgreSQL, Kafka): Meta posts a signed `message_deliveries` / `message_reads` webhook to
ingest, ingest publishes `interaction.delivery_status`, routing moves the replies' delivery
state. A receipt naming a mid moves that reply; a watermark moves every reply of the
conversation handed to the platform at or before it, never backwards, and a reply whose send
is not recorded yet gets it when `send.completed` arrives."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.ingest.platforms.signatures import meta_signature
from services.routing.replies.models import PendingDeliveryReport
from shared.events.envelope import Envelope
from shared.events.interactions import Channel, DeliveryStatus
from tests.ingest.sends_platform import Answer
from tests.ingest.sends_support import PAGE_ID
from tests.routing.cases_support import Publisher, engine_for, sessions_for
from tests.routing.replies_support import (
    SYSTEM,
    Env,
    complaint_case,
    member_key,
    replies_env,
    wait_for_status,
)

pytestmark = pytest.mark.integration

APP_SECRET = "meta-app-secret"  # the connection `create_connection` makes


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    async with replies_env(postgres_url, kafka_bootstrap) as env:
        yield env


def milliseconds(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def from_milliseconds(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


async def post_receipt(
    env: Env, connection: str, psid: str, receipt: dict[str, Any], *, timestamp: int
) -> None:
    """A Messenger receipt as Meta posts it: the customer is the sender, the page the
    recipient; signed with the connection's app secret."""
    event = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": timestamp}
    body = json.dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE_ID, "time": timestamp, "messaging": [{**event, **receipt}]}],
        }
    ).encode()
    response = await env.client.post(
        f"{env.ingest_url}/v1/webhooks/meta/{connection}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(body, APP_SECRET),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] is True


async def reply_until(
    env: Env, reply_id: str, done: Callable[[dict[str, Any]], bool], *, within: float = 30
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    body: dict[str, Any] = {}
    while loop.time() < deadline:
        body = (
            await env.routing.client.get(f"{env.routing.url}/v1/replies/{reply_id}", auth=SYSTEM)
        ).json()
        if done(body):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"reply {reply_id} never got there: {body}")


async def pending_reports(env: Env, brand: str) -> dict[tuple[str, str], datetime]:
    async with engine_for(env.routing.database) as engine:
        async with sessions_for(engine)() as session:
            rows = await session.scalars(
                select(PendingDeliveryReport).where(PendingDeliveryReport.brand_id == brand)
            )
            return {(row.platform_message_id, row.status): row.occurred_at for row in rows}


async def messenger_case(env: Env) -> tuple[str, str, Any, str]:
    brand, connection, team = await env.brand_with_team(channel="messenger")
    psid = str(random.randrange(10**15, 10**16))
    case, _item = await complaint_case(
        env.routing,
        brand,
        connection,
        channel=Channel.messenger,
        thread=psid,
        text="Hola, mi pedido 7730 no ha llegado todavía",
    )
    return brand, connection, (case, team), psid


async def sent_reply(env: Env, case_id: str, team: Any, order: int) -> dict[str, Any]:
    created = await env.post_reply(
        case_id,
        member_key(team, "ana"),
        text=f"Buenos días. Disculpe el retraso: su pedido {order} sale hoy.",
    )
    assert created.status_code == 201, created.text
    assert created.json()["send_kind"] == "private_message"
    sent = await wait_for_status(env.routing, created.json()["id"], ["sent", "failed"])
    assert sent["status"] == "sent", sent
    assert sent["delivery_status"] == "sent"
    assert sent["platform_message_id"].startswith("m_")
    return sent


async def test_mids_and_watermarks_move_the_replies_of_the_conversation(env: Env) -> None:
    brand, connection, (case, team), psid = await messenger_case(env)
    first = await sent_reply(env, case.id, team, 7730)
    await asyncio.sleep(0.05)  # the second is handed over strictly later, to the millisecond
    second = await sent_reply(env, case.id, team, 7731)
    first_handed = milliseconds(datetime.fromisoformat(first["send_requested_at"]))
    assert milliseconds(datetime.fromisoformat(second["send_requested_at"])) > first_handed
    base = milliseconds(datetime.now(UTC))

    # A delivery naming the first reply's mid, with a watermark before either (Meta sends one).
    await post_receipt(
        env,
        connection,
        psid,
        {"delivery": {"mids": [first["platform_message_id"]], "watermark": first_handed - 5000}},
        timestamp=base + 1,
    )
    body = await reply_until(env, first["id"], lambda b: b["delivery_status"] == "delivered")
    assert datetime.fromisoformat(body["delivered_at"]) == from_milliseconds(base + 1)
    # The customer read up to the first reply (Meta's watermark: its own platform time, which
    # is before ingest had the Send API's answer): the first is read, the second is not.
    read_first = {"read": {"watermark": first_handed}}
    await post_receipt(env, connection, psid, read_first, timestamp=base + 2)
    # A receipt for a message that is not ours (written in the Page inbox): kept, no error.
    await post_receipt(
        env, connection, psid, {"delivery": {"mids": ["m_from_the_inbox"]}}, timestamp=base + 3
    )
    # Then a delivery watermark (no mids) covering both, and the first read watermark again.
    await post_receipt(
        env, connection, psid, {"delivery": {"watermark": base + 4}}, timestamp=base + 5
    )
    await post_receipt(env, connection, psid, read_first, timestamp=base + 2)

    second_now = await reply_until(env, second["id"], lambda b: b["delivery_status"] == "delivered")
    assert datetime.fromisoformat(second_now["delivered_at"]) == from_milliseconds(base + 5)
    assert second_now["read_at"] is None
    first_now = await reply_until(env, first["id"], lambda b: b["delivery_status"] == "read")
    # Never backwards: the later delivery watermark leaves the first reply read, its moments
    # the earliest reports of each state.
    assert datetime.fromisoformat(first_now["delivered_at"]) == from_milliseconds(base + 1)
    assert datetime.fromisoformat(first_now["read_at"]) == from_milliseconds(base + 2)
    assert ("m_from_the_inbox", "delivered") in await pending_reports(env, brand)

    # `failed` stays terminal: a failure report on the second, then a read watermark on all.
    failed = DeliveryStatus(
        brand_id=brand,
        channel=Channel.messenger,
        external_id=second["platform_message_id"],
        thread_external_id=psid,
        status="failed",
        occurred_at=from_milliseconds(base + 6),
    )
    async with Publisher(env.bootstrap) as publisher:
        await publisher.send(
            Envelope(
                type="interaction.delivery_status",
                source="socialcare/ingest",
                key=case.thread_key,
                data=failed,
            )
        )
    await reply_until(env, second["id"], lambda b: b["delivery_status"] == "failed")
    await post_receipt(env, connection, psid, {"read": {"watermark": base + 7}}, timestamp=base + 8)
    # A marker on the same thread (same partition, after it) says the watermark was consumed.
    await post_receipt(
        env, connection, psid, {"delivery": {"mids": ["m_marker"]}}, timestamp=base + 9
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while ("m_marker", "delivered") not in await pending_reports(env, brand):
        assert loop.time() < deadline, "the marker never arrived"
        await asyncio.sleep(0.2)
    after = (
        await env.routing.client.get(f"{env.routing.url}/v1/replies/{second['id']}", auth=SYSTEM)
    ).json()
    assert after["delivery_status"] == "failed"
    assert after["read_at"] is None


async def test_a_watermark_before_the_send_is_recorded_is_kept_and_applied(env: Env) -> None:
    """Meta can post the read receipt before its Send API answer reaches ingest (or while the
    outcome waits in Kafka): the watermark is kept for the reply still sending, and applied
    when `send.completed` arrives."""
    brand, connection, (case, team), psid = await messenger_case(env)
    release = asyncio.Event()
    env.fake.script("POST", f"/{PAGE_ID}/messages", Answer(processed=True, release=release))
    created = await env.post_reply(
        case.id,
        member_key(team, "ana"),
        text="Buenos días. Disculpe el retraso: su pedido 7740 sale hoy.",
    )
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    try:
        await reply_until(env, reply_id, lambda b: b["send_requested_at"] is not None)
        await asyncio.sleep(0.01)
        watermark = milliseconds(datetime.now(UTC))
        await post_receipt(
            env, connection, psid, {"read": {"watermark": watermark}}, timestamp=watermark + 40
        )
        name = f"watermark:messenger:{psid}:{watermark}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while (name, "read") not in await pending_reports(env, brand):
            assert loop.time() < deadline, await pending_reports(env, brand)
            await asyncio.sleep(0.2)
        waiting = (
            await env.routing.client.get(f"{env.routing.url}/v1/replies/{reply_id}", auth=SYSTEM)
        ).json()
        assert waiting["status"] == "sending"
        assert waiting["delivery_status"] is None
    finally:
        release.set()
    sent = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert sent["status"] == "sent", sent
    assert sent["delivery_status"] == "read"
    assert datetime.fromisoformat(sent["read_at"]) == from_milliseconds(watermark + 40)
    assert datetime.fromisoformat(sent["delivered_at"]) == from_milliseconds(watermark + 40)
    # No other reply of the conversation waits: the kept watermark is gone.
    assert (name, "read") not in await pending_reports(env, brand)
