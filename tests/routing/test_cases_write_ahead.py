"""A large poll on PostgreSQL writes its history rows, events and messages while it is still
deciding (`CaseIntake.take_in`, `CaseChanges.write_ahead`): it must store and publish exactly
what the same interactions store in small polls, keep each thread's events in order, keep an
edit of a message already written, leave nothing when it fails, and keep the keys to the cases
checked (at the poll's commit)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.routing.cases import repository
from services.routing.cases.events import CaseChanges
from services.routing.cases.intake import WRITE_AHEAD, CaseIntake, _message_row
from services.routing.cases.models import Case, CaseHistory, CaseMessage
from services.routing.handlers import build_intake
from services.routing.models import bus_tables
from shared.db import create_engine, session_factory
from shared.events.envelope import Envelope
from shared.events.interactions import Interaction
from tests.fixtures.services import migrated_database
from tests.routing.cases_support import interaction, received, routing_settings, seed_team

pytestmark = pytest.mark.integration

# Real-looking posts in both languages: complaints, purchases, jobs, praise, press.
TEXTS = [
    ("El pedido 4471 llegó roto y nadie me contesta", "es"),
    ("¿Tenéis vacantes de dependienta en Sevilla?", "es"),
    ("Quiero comprar dos de estas, ¿hay envío a Canarias?", "es"),
    ("Me encanta la nueva colección, enhorabuena", "es"),
    ("My order arrived damaged and support is ignoring me", "en"),
    ("Are you hiring warehouse staff in Leeds?", "en"),
    ("How much is the blue one? I'd like to buy it today", "en"),
    ("Journalist here: can I get a comment on the recall?", "en"),
]
DEPARTMENTS = ["marketing", "customer_service", "sales", "pr", "corporate_comms", "hr", "legal"]


@pytest.fixture
async def sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(await migrated_database(postgres_url, "routing"), schema="routing")
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def intake() -> CaseIntake:
    built = build_intake(routing_settings("sqlite+aiosqlite://", "127.0.0.1:9"))
    built.classifier()
    return built


async def _brand(sessions: async_sessionmaker[AsyncSession]) -> str:
    brand_id = f"acme-{uuid.uuid4().hex[:8]}"
    await seed_team(
        sessions,
        brand_id,
        [
            {"name": "ana", "departments": DEPARTMENTS, "capacity": 1000},
            {"name": "luis", "departments": DEPARTMENTS, "capacity": 1000, "languages": ["en"]},
        ],
    )
    return brand_id


def _posts(brand_id: str, count: int) -> list[Envelope]:
    """`count` posts over fewer threads: every ninth joins the thread of the one before."""
    envelopes = []
    for index in range(count):
        text, lang = TEXTS[index % len(TEXTS)]
        thread = f"t-{index - 1 if index % 9 == 8 else index}"
        envelopes.append(received(interaction(brand_id, text, thread=thread, lang=lang)))
    return envelopes


async def _take_in(
    intake: CaseIntake,
    sessions: async_sessionmaker[AsyncSession],
    envelopes: Sequence[Envelope],
    poll: int,
) -> None:
    for start in range(0, len(envelopes), poll):
        async with sessions() as session, session.begin():
            await intake.take_in(session, envelopes[start : start + poll])


Stored = tuple[
    dict[str, tuple[Any, ...]], dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]
]


async def _stored(sessions: async_sessionmaker[AsyncSession], brand_id: str) -> Stored:
    """Per thread (without the brand's prefix): the case's decision, its history's actions in
    order, its events' types in outbox order and its messages' texts."""
    outbox = bus_tables.outbox
    async with sessions() as session:
        cases = list(await session.scalars(select(Case).where(Case.brand_id == brand_id)))
        history = (
            await session.execute(
                select(Case.thread_key, CaseHistory.action)
                .join(Case, Case.id == CaseHistory.case_id)
                .where(Case.brand_id == brand_id)
                .order_by(CaseHistory.id)
            )
        ).all()
        messages = (
            await session.execute(
                select(Case.thread_key, CaseMessage.text)
                .join(Case, Case.id == CaseMessage.case_id)
                .where(Case.brand_id == brand_id)
                .order_by(CaseMessage.text)
            )
        ).all()
        events = (
            await session.execute(
                select(outbox.c.key, outbox.c.headers)
                .where(outbox.c.key.like(f"{brand_id}:%"))
                .order_by(outbox.c.id)
            )
        ).all()
    thread = len(brand_id) + 1
    decisions = {
        case.thread_key[thread:]: (
            case.status,
            case.department,
            case.priority,
            case.intent,
            case.message_count,
            case.assignee_id is not None,
            case.first_response_target_seconds,
        )
        for case in cases
    }
    actions: dict[str, list[str]] = defaultdict(list)
    for key, action in history:
        actions[key[thread:]].append(action)
    types: dict[str, list[str]] = defaultdict(list)
    for key, headers in events:
        types[key[thread:]].append(dict(headers)["ce_type"])
    texts: dict[str, list[str]] = defaultdict(list)
    for key, text in messages:
        texts[key[thread:]].append(text)
    return decisions, dict(actions), dict(types), dict(texts)


async def test_a_large_poll_writes_ahead_and_stores_what_small_polls_store(
    sessions: async_sessionmaker[AsyncSession],
    intake: CaseIntake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count = 2 * WRITE_AHEAD + 100
    ahead_calls: list[tuple[int, int]] = []
    write_ahead = CaseChanges.write_ahead

    async def counted(self: CaseChanges, session: AsyncSession) -> None:
        ahead_calls.append((len(self.history), len(self.envelopes)))
        await write_ahead(self, session)

    monkeypatch.setattr(CaseChanges, "write_ahead", counted)
    large, small = await _brand(sessions), await _brand(sessions)
    await _take_in(intake, sessions, _posts(large, count), poll=count)
    assert len(ahead_calls) == count // WRITE_AHEAD  # at 250 and 500 of the 600 decided
    assert all(history > 0 and envelopes > 0 for history, envelopes in ahead_calls)
    written = len(ahead_calls)
    await _take_in(intake, sessions, _posts(small, count), poll=WRITE_AHEAD)
    assert len(ahead_calls) == written  # polls of WRITE_AHEAD or fewer write once, at the end

    decisions, actions, types, texts = await _stored(sessions, large)
    assert len(decisions) == count - count // 9  # every ninth post joined a thread
    assert sum(len(thread) for thread in texts.values()) == count
    assert (decisions, actions, types, texts) == await _stored(sessions, small)
    # Both languages' posts went where their intents say, not all to one department.
    assert len(Counter(department for _, department, *_ in decisions.values())) >= 3
    for thread, events in types.items():
        # Each thread's events in the order they happened, one opening each.
        assert events[0] == "case.opened", (thread, events)
        assert events.count("case.opened") == 1, (thread, events)
        if "case.assigned" in events:
            assert events.index("case.routed") < events.index("case.assigned"), events
        assert actions[thread][0] == "opened", (thread, actions[thread])


async def test_a_message_written_ahead_then_edited_later_in_the_poll_keeps_the_edit(
    sessions: async_sessionmaker[AsyncSession], intake: CaseIntake
) -> None:
    brand_id = await _brand(sessions)
    envelopes = _posts(brand_id, 2 * WRITE_AHEAD + 10)
    first = envelopes[3].data
    assert isinstance(first, Interaction)
    edited = first.model_copy(update={"text": "El pedido 4471 llegó roto. Ya me lo han cambiado"})
    envelopes.append(received(edited, "interaction.updated"))  # decided after two writes ahead
    await _take_in(intake, sessions, envelopes, poll=len(envelopes))
    async with sessions() as session:
        message = await session.scalar(
            select(CaseMessage).where(CaseMessage.interaction_id == first.id)
        )
        count = await session.scalar(
            select(func.count())
            .select_from(CaseMessage)
            .join(Case, Case.id == CaseMessage.case_id)
            .where(Case.brand_id == brand_id)
        )
    assert message is not None
    assert message.text == edited.text
    assert message.edited_at is not None
    assert count == len(envelopes) - 1  # the update is the same message


async def test_a_poll_that_fails_after_writing_ahead_leaves_nothing_and_its_retry_stores_all(
    sessions: async_sessionmaker[AsyncSession],
    intake: CaseIntake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    brand_id = await _brand(sessions)
    envelopes = _posts(brand_id, 2 * WRITE_AHEAD + 10)
    insert_messages = repository.insert_messages
    failures = [OperationalError("COPY", {}, ConnectionError("the server went away"))]

    async def failing_once(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        await insert_messages(session, rows)

    monkeypatch.setattr(repository, "insert_messages", failing_once)
    with pytest.raises(OperationalError):
        await _take_in(intake, sessions, envelopes, poll=len(envelopes))
    assert await _stored(sessions, brand_id) == ({}, {}, {}, {})

    await _take_in(intake, sessions, envelopes, poll=len(envelopes))
    decisions, actions, types, texts = await _stored(sessions, brand_id)
    assert len(decisions) == len(envelopes) - len(envelopes) // 9
    assert set(actions) == set(types) == set(texts) == set(decisions)


async def test_a_write_ahead_that_fails_fails_the_poll_with_its_error(
    sessions: async_sessionmaker[AsyncSession],
    intake: CaseIntake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    brand_id = await _brand(sessions)
    envelopes = _posts(brand_id, 2 * WRITE_AHEAD + 10)

    async def failing(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
        raise OperationalError("COPY", {}, ConnectionError("the server went away"))

    monkeypatch.setattr(repository, "insert_history", failing)
    with pytest.raises(OperationalError, match="went away"):
        await _take_in(intake, sessions, envelopes, poll=len(envelopes))
    monkeypatch.undo()
    assert await _stored(sessions, brand_id) == ({}, {}, {}, {})


async def test_the_history_key_is_checked_at_once_and_at_the_commit_of_a_deferring_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    row = {
        "case_id": str(uuid.uuid4()),  # no such case
        "at": datetime.now(UTC),
        "actor": "system",
        "action": "opened",
        "changes": {},
        "note": None,
    }
    async with sessions() as session:
        await session.begin()
        with pytest.raises(IntegrityError):
            await repository.insert_history(session, [row])  # checked row by row
        await session.rollback()
    async with sessions() as session:
        transaction = await session.begin()
        assert await repository.defer_case_checks(session)
        await repository.insert_history(session, [row])  # accepted for now...
        with pytest.raises(IntegrityError):
            await transaction.commit()  # ...and refused at the commit
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(CaseHistory)
            .where(CaseHistory.case_id == row["case_id"])
        )
    assert stored == 0


async def test_the_message_key_is_checked_at_once_and_at_the_commit_of_a_deferring_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    item = interaction("acme", "Hola, ¿seguís abiertos el domingo?")
    row = _message_row(str(uuid.uuid4()), item, "inbound")  # no such case
    async with sessions() as session:
        await session.begin()
        with pytest.raises(IntegrityError):
            await repository.insert_messages(session, [row])
        await session.rollback()
    async with sessions() as session:
        transaction = await session.begin()
        assert await repository.defer_case_checks(session)
        await repository.insert_messages(session, [row])
        with pytest.raises(IntegrityError):
            await transaction.commit()
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(CaseMessage)
            .where(CaseMessage.interaction_id == item.id)
        )
    assert stored == 0
