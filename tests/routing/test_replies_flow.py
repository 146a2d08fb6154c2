"""A case answered end to end, with routing, guidelines and ingest running for real (PostgreSQL,
Kafka) and ingest sending to the local platform server: a Spanish reply in tú against a brand
that says usted is refused with the check's findings, the corrected one waits for a reviewer,
the reviewer approves it, the platform receives exactly the documented request, `reply.sent`
is published and the case shows its first response time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.routing.replies.models import PendingDeliveryReport
from shared.business_hours import BusinessCalendar
from shared.events.cases import CaseEvent
from shared.events.envelope import Envelope
from shared.events.interactions import Channel, DeliveryStatus
from shared.events.replies import ReplyEvent
from shared.events.topics import CASES
from tests.fixtures.services import read_events
from tests.ingest.sends_platform import Answer, graph_error
from tests.ingest.sends_support import PAGE_TOKEN, PHONE_NUMBER_ID
from tests.routing.cases_support import Publisher, engine_for, sessions_for
from tests.routing.replies_support import (
    SYSTEM,
    TU_REPLY,
    USTED_REPLY,
    Env,
    as_key,
    complaint_case,
    member_key,
    replies_env,
    reply_events,
    wait_for_status,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def env(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Env]:
    async with replies_env(postgres_url, kafka_bootstrap) as env:
        yield env


async def test_tu_refused_corrected_approved_sent_and_timed(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(approval_departments=["customer_service"])
    case, item = await complaint_case(env.routing, brand, connection)
    assert case.department == "customer_service"
    ana = member_key(team, "ana")
    rosa = member_key(team, "rosa")
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


async def test_rejected_then_edited_by_its_author_goes_back_to_review(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(approval_departments=["customer_service"])
    case, item = await complaint_case(env.routing, brand, connection)
    ana, rosa, pablo = (member_key(team, name) for name in ("ana", "rosa", "pablo"))
    url = env.routing.url
    created = await env.post_reply(case.id, ana, text=USTED_REPLY)
    reply_id = created.json()["id"]

    listed_by_sales = await env.routing.client.get(
        f"{url}/v1/approvals",
        params={"brand_id": brand},
        auth=as_key("replies:approve", departments=["sales"]),
    )
    assert listed_by_sales.json()["items"] == []

    rejected = await env.routing.client.post(
        f"{url}/v1/replies/{reply_id}/reject",
        json={"comment": "No prometa fechas / Do not promise dates"},
        auth=rosa,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_comment"].startswith("No prometa")
    waiting = await env.routing.client.get(
        f"{url}/v1/approvals", params={"brand_id": brand}, auth=rosa
    )
    assert waiting.json()["items"] == []
    twice = await env.routing.client.post(
        f"{url}/v1/replies/{reply_id}/approve", json={}, auth=rosa
    )
    assert twice.status_code == 409

    not_author = await env.routing.client.put(
        f"{url}/v1/replies/{reply_id}", json={"text": USTED_REPLY}, auth=pablo
    )
    assert not_author.status_code == 403
    assert not_author.json()["reason"] == "not_the_author"
    still_tu = await env.routing.client.put(
        f"{url}/v1/replies/{reply_id}", json={"text": TU_REPLY}, auth=ana
    )
    assert still_tu.status_code == 422
    unchanged = (await env.routing.client.get(f"{url}/v1/replies/{reply_id}", auth=SYSTEM)).json()
    assert unchanged["status"] == "rejected"
    assert unchanged["revision"] == 1

    corrected = "Buenos días, Marta. Disculpe las molestias: revisamos su pedido hoy mismo."
    edited = await env.routing.client.put(
        f"{url}/v1/replies/{reply_id}", json={"text": corrected}, auth=ana
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "awaiting_approval"
    assert edited.json()["revision"] == 2
    assert edited.json()["review_comment"] is None
    approved = await env.routing.client.post(
        f"{url}/v1/replies/{reply_id}/approve", json={}, auth=rosa
    )
    assert approved.status_code == 200, approved.text
    sent = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert sent["status"] == "sent"
    [call] = env.fake.calls("POST", f"/{item.external_id}/comments")
    assert call.body == {"message": corrected}
    events = await reply_events(env.bootstrap, reply_id, 9, key=case.thread_key)
    assert [e.type for e in events] == [
        "reply.drafted",
        "reply.checked",
        "reply.approval_requested",
        "reply.rejected",
        "reply.drafted",
        "reply.checked",
        "reply.approval_requested",
        "reply.approved",
        "reply.sent",
    ]
    assert [e.data.revision for e in events if isinstance(e.data, ReplyEvent)][-1] == 2


async def test_a_reply_needing_no_approval_is_sent_at_once_and_resolves_its_case(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(resolve_on_reply=True)
    case, item = await complaint_case(env.routing, brand, connection)
    created = await env.post_reply(
        case.id, SYSTEM, text=USTED_REPLY, author_member_id=team.members["pablo"]
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "sending"
    assert created.json()["approval_reasons"] == []
    reply_id = created.json()["id"]
    sent = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert sent["status"] == "sent"
    assert sent["author_id"] == team.members["pablo"]
    events = await reply_events(env.bootstrap, reply_id, 3, key=case.thread_key)
    assert [e.type for e in events] == ["reply.drafted", "reply.checked", "reply.sent"]
    detail = (
        await env.routing.client.get(f"{env.routing.url}/v1/cases/{case.id}", auth=SYSTEM)
    ).json()
    assert detail["status"] == "resolved"
    assert detail["first_response_at"] is not None


MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS_9_TO_18 = {
    day: [["09:00", "18:00"]] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


def a_friday_evening_before(now: datetime) -> datetime:
    """19:00 in Madrid of a Friday at least three days before `now`: a weekend lies between."""
    day = now.astimezone(MADRID).date() - timedelta(days=3)
    while day.weekday() != 4:
        day -= timedelta(days=1)
    return datetime.combine(day, time(19, 0), MADRID).astimezone(UTC)


async def test_reply_sent_carries_its_response_time_in_the_departments_business_hours(
    env: Env,
) -> None:
    brand, connection, team = await env.brand_with_team(resolve_on_reply=True)
    calendar = await env.routing.client.put(
        f"{env.routing.url}/v1/departments/{team.departments['customer_service']}/calendar",
        json={"timezone": "Europe/Madrid", "weekly_hours": WEEKDAYS_9_TO_18, "holidays": []},
        auth=SYSTEM,
    )
    assert calendar.status_code == 200, calendar.text
    asked_at = a_friday_evening_before(datetime.now(UTC))
    case, _item = await complaint_case(env.routing, brand, connection, created_at=asked_at)
    assert case.first_inbound_at == asked_at
    created = await env.post_reply(
        case.id, SYSTEM, text=USTED_REPLY, author_member_id=team.members["pablo"]
    )
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    sent = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert sent["status"] == "sent", sent
    events = await reply_events(env.bootstrap, reply_id, 3, key=case.thread_key)
    data = events[-1].data
    assert events[-1].type == "reply.sent"
    assert isinstance(data, ReplyEvent)
    assert data.sent_at is not None
    wall = (data.sent_at - asked_at).total_seconds()
    business = data.first_inbound_business_seconds
    assert business is not None
    # Friday 19:00 to Monday 09:00 (62 h) at least, and every night, are closed.
    assert business <= wall - 62 * 3600
    office = BusinessCalendar(
        "Europe/Madrid",
        {day: [(start, end) for start, end in hours] for day, hours in WEEKDAYS_9_TO_18.items()},
    )
    assert business == pytest.approx(office.business_seconds_between(asked_at, data.sent_at))
    # It answers the one message of the case: the same time, from the same moment.
    assert data.answers_inbound_at == asked_at
    assert data.answers_inbound_business_seconds == pytest.approx(business)
    # The reply resolved the case: case.resolved carries its resolution time in the same hours.
    [resolved] = await read_events(
        env.bootstrap,
        CASES,
        lambda envelope: envelope.type == "case.resolved" and envelope.subject == case.id,
        1,
        key=case.thread_key,
        within=40,
    )
    assert isinstance(resolved.data, CaseEvent)
    assert resolved.data.resolved_at is not None
    assert resolved.data.resolution_business_seconds == pytest.approx(
        office.business_seconds_between(resolved.data.opened_at, resolved.data.resolved_at)
    )
    # Resolution runs from the case's opening (when routing received the message), not from
    # the customer's platform time: here, seconds of which none may be open ones.
    assert resolved.data.resolution_business_seconds is not None
    wall_resolution = (resolved.data.resolved_at - resolved.data.opened_at).total_seconds()
    assert 0 <= resolved.data.resolution_business_seconds <= wall_resolution


async def test_a_permanent_platform_error_fails_the_reply_and_keeps_the_error(env: Env) -> None:
    brand, connection, team = await env.brand_with_team()
    case, item = await complaint_case(env.routing, brand, connection)
    env.fake.script(
        "POST",
        f"/{item.external_id}/comments",
        Answer(status=400, body=graph_error(100, "Unsupported post request", subcode=33)),
    )
    created = await env.post_reply(case.id, member_key(team, "ana"), text=USTED_REPLY)
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    failed = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert failed["status"] == "failed"
    assert failed["failure"]["reason"] == "permanent"
    assert failed["failure"]["platform_error"]["code"] == "100"
    assert set(failed["failure"]["messages"]) == {"en", "es"}
    [event] = [
        e
        for e in await reply_events(env.bootstrap, reply_id, 3, key=case.thread_key)
        if e.type == "reply.failed"
    ]
    assert isinstance(event.data, ReplyEvent)
    assert event.data.failure_reason == "permanent"
    assert event.data.platform_error is not None
    assert event.data.platform_error["subcode"] == "33"
    detail = (
        await env.routing.client.get(f"{env.routing.url}/v1/cases/{case.id}", auth=SYSTEM)
    ).json()
    assert detail["first_response_at"] is None
    assert len(env.fake.calls("POST", f"/{item.external_id}/comments")) == 1


async def test_whatsapp_delivery_reports_move_the_reply_delivery_state(env: Env) -> None:
    brand, connection, team = await env.brand_with_team(channel="whatsapp")
    case, item = await complaint_case(
        env.routing,
        brand,
        connection,
        channel=Channel.whatsapp,
        text="Hola, mi pedido 4411 no ha llegado todavía",
    )
    created = await env.post_reply(
        case.id,
        member_key(team, "ana"),
        text="Buenos días. Disculpe el retraso: su pedido 4411 sale hoy.",
    )
    assert created.status_code == 201, created.text
    assert created.json()["send_kind"] == "whatsapp_message"
    reply_id = created.json()["id"]
    sent = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert sent["status"] == "sent", sent
    assert sent["delivery_status"] == "sent"
    [call] = [
        c
        for c in env.fake.calls("POST")
        if isinstance(c.body, dict) and c.body.get("to") == "u-marta"
    ][-1:]
    assert call.body["type"] == "text"
    wamid = sent["platform_message_id"]
    assert wamid.startswith("wamid.")

    def report(status: str) -> Envelope:
        data = DeliveryStatus(
            brand_id=brand,
            channel=Channel.whatsapp,
            external_id=wamid,
            thread_external_id=item.thread_external_id,
            status=status,
            occurred_at=datetime.now(UTC),
        )
        return Envelope(
            type="interaction.delivery_status",
            source="socialcare/ingest",
            key=item.thread_key,
            data=data,
        )

    async with Publisher(env.bootstrap) as publisher:
        await publisher.send(report("delivered"), report("read"), report("delivered"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    body: dict[str, object] = {}
    while loop.time() < deadline:
        body = (
            await env.routing.client.get(f"{env.routing.url}/v1/replies/{reply_id}", auth=SYSTEM)
        ).json()
        if body["delivery_status"] == "read":
            break
        await asyncio.sleep(0.2)
    assert body["delivery_status"] == "read"
    assert body["delivered_at"] is not None
    assert body["read_at"] is not None


async def test_delivery_reports_before_the_send_is_recorded_are_kept_and_applied(env: Env) -> None:
    """WhatsApp posts a message's statuses as soon as it has it, which can be before its API
    answer reaches ingest: here the platform answers only after routing has consumed every
    report (read first, then sent, delivered and duplicates), so they all precede
    `send.completed`. None is lost; they apply in the platform's precedence, once."""
    brand, connection, team = await env.brand_with_team(channel="whatsapp")
    case, item = await complaint_case(
        env.routing,
        brand,
        connection,
        channel=Channel.whatsapp,
        text="Hola, mi pedido 5120 no ha llegado todavía",
    )
    wamid = f"wamid.HBgLEARLY{uuid.uuid4().hex[:12]}"
    release = asyncio.Event()
    env.fake.script(
        "POST",
        f"/{PHONE_NUMBER_ID}/messages",
        Answer(
            body={
                "messaging_product": "whatsapp",
                "contacts": [{"input": "u-marta", "wa_id": "u-marta"}],
                "messages": [{"id": wamid}],
            },
            release=release,
        ),
    )
    created = await env.post_reply(
        case.id,
        member_key(team, "ana"),
        text="Buenos días. Disculpe el retraso: su pedido 5120 sale hoy.",
    )
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    base = datetime.now(UTC)

    def report(status: str, seconds: int) -> Envelope:
        data = DeliveryStatus(
            brand_id=brand,
            channel=Channel.whatsapp,
            external_id=wamid,
            thread_external_id=item.thread_external_id,
            status=status,
            occurred_at=base + timedelta(seconds=seconds),
        )
        return Envelope(
            type="interaction.delivery_status",
            source="socialcare/ingest",
            key=item.thread_key,
            data=data,
        )

    try:
        # Each report is its own event (a redelivered webhook is a new event id): duplicates
        # must be absorbed by the state, not only by the consumer's dedupe.
        async with Publisher(env.bootstrap) as publisher:
            await publisher.send(
                report("read", 60), report("sent", 1), report("delivered", 5), report("read", 90)
            )
            await publisher.send(report("delivered", 7), report("sent", 2))
        pending = await _pending_statuses(env, brand, wamid, within=30, count=3)
        assert pending == {
            "sent": base + timedelta(seconds=1),
            "delivered": base + timedelta(seconds=5),
            "read": base + timedelta(seconds=60),
        }
        waiting = await env.routing.client.get(
            f"{env.routing.url}/v1/replies/{reply_id}", auth=SYSTEM
        )
        assert waiting.json()["status"] == "sending"
        assert waiting.json()["delivery_status"] is None
    finally:
        release.set()
    sent = await wait_for_status(env.routing, reply_id, ["sent", "failed"])
    assert sent["status"] == "sent", sent
    assert sent["platform_message_id"] == wamid
    assert sent["delivery_status"] == "read"
    assert datetime.fromisoformat(sent["delivered_at"]) == base + timedelta(seconds=5)
    assert datetime.fromisoformat(sent["read_at"]) == base + timedelta(seconds=60)
    assert await _pending_statuses(env, brand, wamid) == {}
    # After the send: a late `delivered` changes nothing, `failed` ends it, then nothing moves.
    # A report on another message of the same thread, after them on the same partition,
    # says when they have all been consumed.
    marker = report("sent", 0)
    assert isinstance(marker.data, DeliveryStatus)
    marker.data.external_id = f"{wamid}.marker"
    async with Publisher(env.bootstrap) as publisher:
        await publisher.send(
            report("delivered", 8), report("failed", 120), report("read", 130), marker
        )
    assert await _pending_statuses(env, brand, f"{wamid}.marker", within=30, count=1)
    body = (
        await env.routing.client.get(f"{env.routing.url}/v1/replies/{reply_id}", auth=SYSTEM)
    ).json()
    assert body["delivery_status"] == "failed"
    assert datetime.fromisoformat(body["delivered_at"]) == base + timedelta(seconds=5)
    assert datetime.fromisoformat(body["read_at"]) == base + timedelta(seconds=60)
    assert await _pending_statuses(env, brand, wamid) == {}


async def _pending_statuses(
    env: Env, brand: str, wamid: str, *, within: float = 0, count: int = 0
) -> dict[str, datetime]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        async with engine_for(env.routing.database) as engine:
            async with sessions_for(engine)() as session:
                rows = (
                    await session.scalars(
                        select(PendingDeliveryReport).where(
                            PendingDeliveryReport.brand_id == brand,
                            PendingDeliveryReport.platform_message_id == wamid,
                        )
                    )
                ).all()
        found = {row.status: row.occurred_at for row in rows}
        if len(found) >= count or loop.time() > deadline:
            return found
        await asyncio.sleep(0.2)
