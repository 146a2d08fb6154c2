"""What makes a poll of the intake cheap must not change what it stores or publishes: new cases
as plain `NewCase` records (the same attributes as `Case`), case events written straight to
JSON (the same bytes as the validated `CaseEvent`), SLA deadlines from one walk over the
calendar (the same instants as one walk per deadline), and a 500-record poll that hands the
event loop back while it decides."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.routing import sla
from services.routing.cases import clocks, repository
from services.routing.cases.events import event_fields, event_json, snapshot
from services.routing.cases.models import Case, CaseMessage, NewCase
from services.routing.handlers import build_intake, intake_handlers
from services.routing.models import bus_tables
from shared.bus.consumer import PREPARED, ConsumerRunner
from shared.bus.producer import EventProducer
from shared.business_hours import BusinessCalendar, add_seconds
from shared.db import create_engine, session_factory
from shared.events.cases import CaseEvent, Priority, SlaKind
from shared.events.interactions import Interaction
from tests.fixtures.services import migrated_database
from tests.routing.cases_support import interaction, received, routing_settings, seed_team

NOW = datetime(2026, 12, 1, 11, 30, 15, 123456, tzinfo=UTC)


OFFICE = BusinessCalendar(
    "Europe/Madrid",
    {day: [("09:00", "14:00"), ("15:00", "18:30")] for day in range(5)},
    [datetime(2026, 12, 8).date(), datetime(2026, 12, 25).date()],
)


def new_case(**values: object) -> NewCase:
    fields: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "brand_id": "acme",
        "thread_key": "acme:facebook:t-1",
        "channel": "facebook",
        "connection_id": None,
        "account_id": "acc-1",
        "status": "open",
        "priority": "high",
        "department": "customer_service",
        "intent": "complaint",
        "intent_confidence": 0.8731,
        "lang": "es",
        "sentiment_label": "negative",
        "sentiment_score": -0.42,
        "author_external_id": "u-1",
        "author_handle": "@ana",
        "author_followers": 1200,
        "first_inbound_at": NOW - timedelta(minutes=3),
        "last_inbound_at": NOW,
        "opened_at": NOW,
        "tags": ["vip", "refund"],
    }
    fields.update(values)
    return NewCase(**fields)  # type: ignore[arg-type]


def test_a_new_case_has_every_column_of_a_stored_one() -> None:
    columns = {column.key for column in Case.__table__.columns} - {"updated_at"}
    assert {field.name for field in dataclasses.fields(NewCase)} == columns


@pytest.mark.parametrize(
    ("values", "details"),
    [
        ({}, {}),
        (
            {"sentiment_label": None, "sentiment_score": None, "account_id": None, "tags": []},
            {"changed": ["notify"], "interaction_id": "i-1"},
        ),
        (
            {"assignee_id": "m-1", "status": "pending", "resolved_at": NOW, "priority": "urgent"},
            {
                "previous_assignee_id": "m-0",
                "previous_department": "sales",
                "actor": "key-1",
                "note": "¿Lo ves tú? / can you take it?",
                "sla_kind": SlaKind.resolution,
            },
        ),
    ],
)
def test_the_event_json_is_the_validated_event(
    values: dict[str, Any], details: dict[str, Any]
) -> None:
    case = new_case(**values)
    clocks.apply_plan(case, clocks.SlaPlan("policy-1", sla.DEFAULT_TARGETS[Priority.high], OFFICE))
    written = event_json(case, occurred_at=NOW, **details)
    validated = CaseEvent.model_validate(event_fields(case, occurred_at=NOW, **details))
    assert written == validated.model_dump_json().encode()
    assert CaseEvent.model_validate_json(written) == snapshot(case, occurred_at=NOW, **details)
    assert validated.sla.first_response_due_at == case.first_response_due_at is not None


CALENDARS = {
    "office": OFFICE,
    # Openings to midnight, a weekend, and a zone whose clocks change on other dates.
    "nights": BusinessCalendar(
        "America/Mexico_City", {day: [("20:00", "24:00")] for day in (0, 2, 4, 5)}
    ),
}


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2027, 12, 31),
        timezones=st.just(UTC),
    ),
    seconds=st.lists(
        st.one_of(
            st.integers(min_value=-10, max_value=30 * 86400),
            st.floats(min_value=0, max_value=10 * 86400, allow_nan=False),
        ),
        max_size=6,
    ),
    calendar_name=st.sampled_from(["office", "nights", None]),
)
def test_many_deadlines_from_the_timeline_are_the_deadlines_one_by_one(
    start: datetime, seconds: list[float], calendar_name: str | None
) -> None:
    # Starts in any order: the cached timeline of a calendar is extended and read again.
    calendar = CALENDARS[calendar_name] if calendar_name else None
    expected = [add_seconds(calendar, start, value) for value in seconds]
    assert sla.add_seconds_many(calendar, start, seconds) == expected


def test_an_opening_that_ends_exactly_on_the_deadline_ends_it() -> None:
    monday_nine = datetime(2026, 11, 30, 8, tzinfo=UTC)  # 09:00 in Madrid
    five_hours = 5 * 3600
    assert sla.add_seconds_many(OFFICE, monday_nine, [five_hours, five_hours + 1]) == [
        add_seconds(OFFICE, monday_nine, five_hours),
        add_seconds(OFFICE, monday_nine, five_hours + 1),
    ]


# --------------------------------------------------------------------------- the event loop


@pytest.fixture
async def sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await migrated_database(postgres_url, "routing"), schema="routing")
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_a_full_poll_hands_the_event_loop_back_while_it_decides(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    intake = build_intake(routing_settings("sqlite+aiosqlite://", "127.0.0.1:9"))
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    departments = ["marketing", "customer_service", "sales", "pr", "corporate_comms", "hr"]
    await seed_team(
        sessions, brand_id, [{"name": "ana", "departments": departments, "capacity": 1000}]
    )
    texts = ["El pedido llegó roto", "I want to buy two of these", "¿Tenéis vacantes?"]
    envelopes = [
        received(interaction(brand_id, texts[index % len(texts)], thread=f"t-{index}"))
        for index in range(500)
    ]
    intake.classifier()  # loaded before the poll, as at start-up
    # And, as the service does once started (services/routing/main.py), what is alive now is
    # frozen out of the collector's passes: a full collection over the test process's heap
    # (a few hundred ms) is a pause of the garbage collector, not a poll that never yields.
    gc.collect()
    gc.freeze()
    gaps: list[float] = []
    running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await intake.take_in(session, envelopes)
    elapsed = time.perf_counter() - started
    running = False
    await ticking
    gc.unfreeze()
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Case).where(Case.brand_id == brand_id)
        )
    assert stored == 500
    # Without yields, the whole decision of the 500 (most of the poll) is one stall.
    assert max(gaps) < elapsed / 4, (max(gaps), elapsed)


@pytest.mark.integration
async def test_a_poll_that_fails_midway_is_retried_whole_with_one_case_per_thread(
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    kafka_bootstrap: str,
) -> None:
    """The database fails after the poll's cases are inserted, before its messages: the
    transaction (cases, messages, history, outbox rows, event ids) rolls back as one, the
    runner's retry stores each case once, and a redelivery of the poll stores nothing more."""
    intake = build_intake(routing_settings("sqlite+aiosqlite://", kafka_bootstrap))
    producer = EventProducer(kafka_bootstrap, client_id="routing-cases-test")
    await producer.start()
    runner = ConsumerRunner(
        name="routing-cases-test",
        bootstrap=kafka_bootstrap,
        topics=["socialcare.interactions"],
        group_id=f"routing-cases-{uuid.uuid4().hex[:8]}",
        handlers={},
        batch_handlers=intake_handlers(intake),
        sessions=sessions,
        tables=bus_tables,
        producer=producer,
    )
    try:
        await _fail_midway_then_retry(runner, sessions, monkeypatch)
    finally:
        await producer.stop()


async def _fail_midway_then_retry(
    runner: ConsumerRunner,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    await seed_team(sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}])
    envelopes = [
        received(interaction(brand_id, "El pedido llegó roto", thread=f"t-{index}"))
        for index in range(40)
    ]
    insert_messages = repository.insert_messages
    failures = [OperationalError("INSERT", {}, ConnectionError("the server went away"))]

    async def failing_once(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        await insert_messages(session, rows)

    monkeypatch.setattr(repository, "insert_messages", failing_once)
    with pytest.raises(OperationalError):
        await runner._apply(envelopes)

    async def stored() -> tuple[int, int, int]:
        async with sessions() as session:
            cases = await session.scalar(
                select(func.count()).select_from(Case).where(Case.brand_id == brand_id)
            )
            messages = await session.scalar(
                select(func.count())
                .select_from(CaseMessage)
                .join(Case, Case.id == CaseMessage.case_id)
                .where(Case.brand_id == brand_id)
            )
            outbox = bus_tables.outbox
            events = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.key.like(f"{brand_id}:%"))
            )
            return int(cases or 0), int(messages or 0), int(events or 0)

    assert await stored() == (0, 0, 0)
    await runner._apply(envelopes)  # the retry
    cases, messages, events = await stored()
    assert (cases, messages) == (40, 40)
    assert events >= 3 * 40  # opened, routed and assigned or queued, each case
    await runner._apply(envelopes)  # redelivered after a crash before the offsets went out
    assert await stored() == (cases, messages, events)


@pytest.mark.integration
async def test_a_message_another_consumer_stores_meanwhile_fails_the_poll_and_the_retry_finds_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Between the intake's lookup of the poll's interactions and its insert, another consumer
    (a rebalance) stores one of them: the poll's transaction fails whole on the unique
    interaction id, and doing the poll again adds the others to cases once, the stored one
    staying in the other consumer's case."""
    intake = build_intake(routing_settings("sqlite+aiosqlite://", "127.0.0.1:9"))
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    await seed_team(sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}])
    envelopes = [
        received(interaction(brand_id, "El pedido llegó roto", thread=f"t-{index}"))
        for index in range(5)
    ]
    raced = envelopes[2].data
    assert isinstance(raced, Interaction)
    insert_messages = repository.insert_messages

    async def another_consumer_first(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        async with sessions() as other, other.begin():
            theirs = new_case(brand_id=brand_id, thread_key=f"{brand_id}:other")
            await repository.insert_cases(other, [theirs])
            row = dict(next(row for row in rows if row["interaction_id"] == raced.id))
            await insert_messages(other, [{**row, "id": str(uuid.uuid4()), "case_id": theirs.id}])
        await insert_messages(session, rows)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository, "insert_messages", another_consumer_first)
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                await intake.take_in(session, envelopes)
    async with sessions() as session, session.begin():
        await intake.take_in(session, envelopes)  # the retry
    async with sessions() as session:
        rows = (
            await session.execute(
                select(CaseMessage.interaction_id, Case.thread_key)
                .join(Case, Case.id == CaseMessage.case_id)
                .where(Case.brand_id == brand_id)
            )
        ).all()
    owners = dict(rows)
    assert len(rows) == len(owners) == 5
    assert owners[raced.id] == f"{brand_id}:other"


@pytest.mark.integration
async def test_a_handle_or_name_longer_than_stored_is_cut_to_fit_not_a_failed_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An event whose author handle or display name is longer than the columns (a hostile
    payload: they are shown, not matched) is read cut to fit, so the poll stores it."""
    intake = build_intake(routing_settings("sqlite+aiosqlite://", "127.0.0.1:9"))
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    await seed_team(sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}])
    raw = interaction(brand_id, "My order arrived broken, can you help?").model_dump(mode="json")
    raw["author"]["handle"] = "@" + "ñ" * 499
    raw["author"]["display_name"] = "Señora " * 100
    long_one = Interaction.model_validate_json(json.dumps(raw))
    async with sessions() as session, session.begin():
        await intake.take_in(session, [received(long_one)])
    async with sessions() as session:
        case = (await session.scalars(select(Case).where(Case.brand_id == brand_id))).one()
        message = (
            await session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id))
        ).one()
    assert case.author_handle == ("@" + "ñ" * 499)[:200]
    assert message.author_handle == case.author_handle
    assert message.author_display_name == ("Señora " * 100)[:300]


@pytest.mark.integration
async def test_intents_prepared_outside_the_transaction_are_the_ones_it_stores(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    intake = build_intake(routing_settings("sqlite+aiosqlite://", "127.0.0.1:9"))
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    await seed_team(sessions, brand_id, [{"name": "ana", "departments": ["customer_service"]}])
    posts = [
        ("El pedido 48213 llegó roto y nadie me contesta", "es"),
        ("I want to buy two of these, do you ship to Mexico?", "en"),
        ("¿Tenéis vacantes de dependiente en Sevilla?", "es"),
        ("My card was charged twice for the same order", "en"),
    ]
    items = [
        interaction(brand_id, text, thread=f"t-{index}", lang=lang)
        for index, (text, lang) in enumerate(posts)
    ]
    # The first text is edited in the same poll: its update is classified on its own text.
    edited = items[0].model_copy(update={"text": "Quiero trabajar con vosotros, ¿hay ofertas?"})
    groups = {
        "interaction.received": [received(item) for item in items],
        "interaction.updated": [received(edited, "interaction.updated")],
    }
    prepared = intake.prepare(groups)
    classifier = intake.classifier()
    expected = {
        (item.id, item.text, item.lang): classifier.classify(item.text, item.lang)
        for item in [*items, edited]
    }
    assert prepared.predictions == expected

    calls = 0
    real = intake.classifier

    def counting() -> Any:
        nonlocal calls
        calls += 1
        return real()

    intake.classifier = counting
    async with sessions() as session, session.begin():
        session.info[PREPARED] = prepared
        for group in groups.values():
            await intake.take_in(session, group)
    assert calls == 0  # nothing classified in the transaction
    async with sessions() as session:
        stored = {
            case.thread_key: (case.intent, case.intent_confidence)
            for case in await session.scalars(select(Case).where(Case.brand_id == brand_id))
        }
    for item in items:
        prediction = expected[(item.id, item.text, item.lang)]
        assert stored[item.thread_key] == (prediction.intent.value, prediction.confidence)

    # Without a preparation (a retry by partition or record), the transaction classifies.
    other = interaction(brand_id, "Vuestra app no me deja entrar", thread="t-9")
    async with sessions() as session, session.begin():
        await intake.take_in(session, [received(other)])
    assert calls == 1
