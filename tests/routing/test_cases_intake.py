"""Interactions shaped as ingest publishes them → cases, through the routing consumer, with
PostgreSQL and Kafka: Spanish and English end to end, threads, the reopen window, the brand's
own messages, edits and deletions, duplicates and out-of-order events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from services.routing.cases.intake import CaseIntake
from services.routing.cases.models import Case, CaseMessage
from services.routing.intents import get_classifier
from services.routing.intents.worker import MIN_TEXTS as WORKER_MIN_TEXTS
from services.routing.models import Member
from shared.events.topics import CASES
from tests.fixtures.services import migrated_database, read_events
from tests.routing.cases_support import (
    READER,
    Publisher,
    Routing,
    case_event,
    cases_of,
    deleted,
    interaction,
    is_case,
    received,
    running_routing,
    seed_team,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def routing(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Routing]:
    database = await migrated_database(postgres_url, "routing")
    async with running_routing(database, kafka_bootstrap) as running:
        yield running


@pytest.fixture
async def publisher(kafka_bootstrap: str) -> AsyncIterator[Publisher]:
    async with Publisher(kafka_bootstrap) as running:
        yield running


def brand() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


async def messages_of(routing: Routing, case_id: str) -> list[CaseMessage]:
    async with routing.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(CaseMessage)
                    .where(CaseMessage.case_id == case_id)
                    .order_by(CaseMessage.created_at)
                )
            ).all()
        )


async def test_spanish_and_english_end_to_end(routing: Routing, publisher: Publisher) -> None:
    brand_id = brand()
    connection = str(uuid.uuid4())
    team = await seed_team(
        routing.sessions,
        brand_id,
        [
            {"name": "lucia", "departments": ["customer_service"], "languages": ["es"]},
            {"name": "john", "departments": ["customer_service"], "languages": ["en"]},
            {"name": "sara", "departments": ["sales"], "languages": ["es", "en"]},
        ],
        connection_id=connection,
    )
    spanish = interaction(
        brand_id,
        "Llevo 4 días esperando mi pedido y nadie me contesta. Muy decepcionada.",
        lang="es",
        connection_id=connection,
    )
    english = interaction(
        brand_id,
        "My order arrived broken and nobody answers my emails, really disappointed",
        lang="en",
        connection_id=connection,
    )
    await publisher.send(received(spanish), received(english))

    async def both_assigned() -> list[Case] | None:
        cases = await cases_of(routing.sessions, brand_id)
        return cases if len(cases) == 2 and all(c.assignee_id for c in cases) else None

    cases = await wait_for(both_assigned, what="two assigned cases")
    by_thread = {case.thread_key: case for case in cases}
    es_case, en_case = by_thread[spanish.thread_key], by_thread[english.thread_key]
    assert (es_case.intent, es_case.lang, es_case.department) == (
        "complaint",
        "es",
        "customer_service",
    )
    assert (en_case.intent, en_case.lang, en_case.department) == (
        "complaint",
        "en",
        "customer_service",
    )
    # Language decides who: Lucía speaks Spanish, John English.
    assert es_case.assignee_id == team.members["lucia"]
    assert en_case.assignee_id == team.members["john"]
    assert es_case.account_id == team.accounts[connection]
    assert es_case.first_response_due_at is not None
    assert es_case.resolution_due_at is not None
    assert es_case.status == "open"
    assert es_case.message_count == 1

    events = await read_events(
        routing.bootstrap,
        CASES,
        is_case(es_case.id),
        3,
        key=es_case.thread_key,
    )
    assert [e.type for e in events] == ["case.opened", "case.routed", "case.assigned"]
    assigned = case_event(events[-1])
    assert assigned.assignee_id == team.members["lucia"]
    assert assigned.intent == "complaint"
    assert assigned.lang == "es"
    assert assigned.sla.first_response_due_at is not None
    assert assigned.first_inbound_at == spanish.created_at

    # Through the API, the case with its message and history.
    response = await routing.client.get(f"{routing.url}/v1/cases/{es_case.id}", auth=READER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["messages"][0]["text"] == spanish.text
    assert [h["action"] for h in body["history"]] == ["opened", "routed", "assigned"]

    async with routing.sessions() as session:
        loads = dict(
            (
                await session.execute(
                    select(Member.name, Member.open_cases).where(Member.brand_id == brand_id)
                )
            ).all()
        )
    assert loads == {"lucia": 1, "john": 1, "sara": 0}


async def test_thread_appends_own_messages_edits_and_deletions(
    routing: Routing, publisher: Publisher
) -> None:
    brand_id = brand()
    await seed_team(
        routing.sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}]
    )
    first = interaction(brand_id, "¿Dónde está mi pedido 4411? Nadie responde")
    thread = first.thread_external_id
    own = interaction(brand_id, "Hola, te escribimos por privado", thread=thread, own=True)
    second = interaction(brand_id, "Sigo esperando, esto es una vergüenza", thread=thread)
    await publisher.send(received(first), received(own), received(second))

    async def three_messages() -> Case | None:
        cases = await cases_of(routing.sessions, brand_id)
        return cases[0] if len(cases) == 1 and cases[0].message_count == 3 else None

    case = await wait_for(three_messages, what="one case with three messages")
    assert case.status == "open"
    messages = await messages_of(routing, case.id)
    assert [m.direction for m in messages] == ["inbound", "own", "inbound"]

    edited = second.model_copy(update={"text": "Sigo esperando (editado)"})
    await publisher.send(received(edited, "interaction.updated"), deleted(first))

    async def edited_and_deleted() -> list[CaseMessage] | None:
        found = await messages_of(routing, case.id)
        by_id = {m.interaction_id: m for m in found}
        done = by_id[second.id].edited_at is not None and by_id[first.id].deleted_at is not None
        return found if done else None

    found = await wait_for(edited_and_deleted, what="an edit and a deletion")
    by_id = {m.interaction_id: m for m in found}
    assert by_id[second.id].text == "Sigo esperando (editado)"
    assert by_id[first.id].deleted_reason == "deleted"
    assert len(await cases_of(routing.sessions, brand_id)) == 1


async def test_duplicates_and_out_of_order_never_open_a_second_case(
    routing: Routing, publisher: Publisher
) -> None:
    brand_id = brand()
    await seed_team(
        routing.sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}]
    )
    first = interaction(
        brand_id,
        "El producto llegó roto, quiero una solución",
        created_at=datetime.now(UTC) - timedelta(minutes=10),
    )
    thread = first.thread_external_id
    later = interaction(
        brand_id,
        "¿Hola? Sigo sin respuesta",
        thread=thread,
        created_at=first.created_at + timedelta(minutes=5),
    )
    envelope = received(first)
    # The same event twice, the same interaction under another event id, an update that
    # arrives before its received, and the later message first.
    update_first = received(later, "interaction.updated")
    await publisher.send(update_first, envelope, envelope, received(first), received(later))

    async def settled() -> list[Case] | None:
        cases = await cases_of(routing.sessions, brand_id)
        return cases if cases and cases[0].message_count == 2 else None

    cases = await wait_for(settled, what="the thread's case")
    await publisher.send(received(first), received(later))  # replayed later
    marker = interaction(brand_id, "otro hilo", lang="es")
    await publisher.send(received(marker))
    await wait_for(lambda: _has_thread(routing, marker.thread_key), what="the marker")
    cases = [
        c for c in await cases_of(routing.sessions, brand_id) if c.thread_key == first.thread_key
    ]
    assert len(cases) == 1
    case = cases[0]
    assert case.message_count == 2
    assert case.first_inbound_at == first.created_at
    assert case.last_inbound_at == later.created_at
    async with routing.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(CaseMessage).where(CaseMessage.case_id == case.id)
        )
    assert count == 2


async def _has_thread(routing: Routing, thread_key: str) -> bool:
    async with routing.sessions() as session:
        return bool(
            await session.scalar(
                select(func.count()).select_from(Case).where(Case.thread_key == thread_key)
            )
        )


async def test_reopen_window_and_spam(routing: Routing, publisher: Publisher) -> None:
    brand_id = brand()
    await seed_team(
        routing.sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}]
    )
    recent = interaction(brand_id, "Mi pedido no ha llegado todavía, ¿qué pasa?")
    old = interaction(brand_id, "My package never arrived, what is going on?", lang="en")
    spam = interaction(
        brand_id, "🔥GANA 500€ AL DÍA DESDE CASA🔥 escríbeme 💰💰 http://x.y", sentiment=None
    )
    await publisher.send(received(recent), received(old), received(spam))

    async def three() -> list[Case] | None:
        cases = await cases_of(routing.sessions, brand_id)
        return cases if len(cases) == 3 else None

    cases = {c.thread_key: c for c in await wait_for(three, what="three cases")}
    assert cases[spam.thread_key].status == "closed"
    assert cases[spam.thread_key].department is None
    assert cases[spam.thread_key].assignee_id is None
    now = datetime.now(UTC)
    async with routing.sessions() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == cases[recent.thread_key].id)
            .values(status="resolved", resolved_at=now - timedelta(hours=1))
        )
        await session.execute(
            update(Case)
            .where(Case.id == cases[old.thread_key].id)
            .values(status="resolved", resolved_at=now - timedelta(days=30))
        )
    again_recent = interaction(brand_id, "Sigue sin llegar", thread=recent.thread_external_id)
    again_old = interaction(brand_id, "Still nothing", thread=old.thread_external_id, lang="en")
    await publisher.send(received(again_recent), received(again_old))

    async def four() -> list[Case] | None:
        found = await cases_of(routing.sessions, brand_id)
        reopened = [c for c in found if c.thread_key == recent.thread_key and c.status == "open"]
        return found if len(found) == 4 and reopened else None

    found = await wait_for(four, what="a reopened case and a new one")
    recent_cases = [c for c in found if c.thread_key == recent.thread_key]
    old_cases = [c for c in found if c.thread_key == old.thread_key]
    assert len(recent_cases) == 1
    assert recent_cases[0].reopened_count == 1
    assert sorted(c.status for c in old_cases) == ["open", "resolved"]
    events = await read_events(
        routing.bootstrap, CASES, lambda e: e.type == "case.reopened", 1, key=recent.thread_key
    )
    assert case_event(events[0]).case_id == recent_cases[0].id


async def test_a_burst_is_classified_in_the_intent_worker_with_the_consumers_answers(
    routing: Routing, publisher: Publisher
) -> None:
    """The running service's intake hands a large poll's texts to its intent worker; the cases
    carry the intents the classifier gives in-process, in Spanish and English."""
    runner = next(r for r in routing.runtime.consumers if r.prepare is not None)
    intake = runner.prepare.__self__  # type: ignore[union-attr]
    assert isinstance(intake, CaseIntake)
    assert intake.worker is not None
    assert await asyncio.to_thread(intake.worker.wait_ready, 120)
    brand_id = brand()
    await seed_team(
        routing.sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}]
    )
    posts = [
        ("Llevo una semana esperando el reembolso y nadie me responde", "es"),
        ("Do you have this jacket in a medium? I'd buy two today", "en"),
        ("¿Buscáis gente para la tienda de Valencia? Os mando mi CV", "es"),
        ("The app logs me out every time I open my basket", "en"),
    ]
    items = [
        interaction(brand_id, f"{text} ({index})", lang=lang)
        for index, (text, lang) in enumerate(posts * 50)
    ]
    worker_before = REGISTRY.get_sample_value(
        "socialcare_routing_prepared_texts_total", {"where": "worker"}
    )
    await publisher.send(*[received(item) for item in items])

    async def all_opened() -> list[Case] | None:
        found = await cases_of(routing.sessions, brand_id)
        return found if len(found) == len(items) else None

    cases = await wait_for(all_opened, within=60, what=f"{len(items)} cases")
    worker_after = REGISTRY.get_sample_value(
        "socialcare_routing_prepared_texts_total", {"where": "worker"}
    )
    assert (worker_after or 0.0) - (worker_before or 0.0) >= WORKER_MIN_TEXTS
    classifier = get_classifier()
    by_thread = {case.thread_key: case for case in cases}
    for item in items:
        expected = classifier.classify(item.text, item.lang)
        case = by_thread[item.thread_key]
        assert (case.intent, case.intent_confidence) == (expected.intent.value, expected.confidence)
