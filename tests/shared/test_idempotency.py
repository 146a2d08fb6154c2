"""`shared.idempotency`: a retried POST with the same Idempotency-Key creates one object and gets
the first answer back; on PostgreSQL and on SQLite, including two requests at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scripts.infra import create_database
from shared import idempotency
from shared.db import create_engine, session_factory
from shared.idempotency import IdempotencyConflictError, IdempotentResponseColumns


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50))


class IdempotentResponse(IdempotentResponseColumns, Base):
    __tablename__ = "idempotent_responses"


class ThingOut(BaseModel):
    id: int
    name: str


# The PostgreSQL cases need the test database: integration tests (`make test-unit` leaves them).
@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.integration), "sqlite"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine: AsyncEngine
    if request.param == "postgresql":
        url = await create_database(request.getfixturevalue("postgres_url"))
        engine = create_engine(url, schema="public")
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'idem.db'}", schema="public")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def create(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    key: str | None,
    owner: str = "key-1",
    pause: float = 0.0,
    fail: bool = False,
) -> tuple[int, dict[str, object], bool]:
    """One POST as a route owning its transaction would run it: (status, body, replayed)."""
    async with sessions() as session:

        async def produce() -> ThingOut:
            thing = Thing(name=name)
            session.add(thing)
            await session.flush()
            await asyncio.sleep(pause)
            if fail:
                raise ValueError("the work failed")
            return ThingOut(id=thing.id, name=thing.name)

        try:
            response = await idempotency.respond(
                session,
                IdempotentResponse,
                owner=owner,
                key=key,
                request_hash=idempotency.fingerprint(name, route="POST /things"),
                status_code=201,
                produce=produce,
            )
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    replayed = response.headers.get(idempotency.REPLAY_HEADER) == "true"
    return response.status_code, json.loads(bytes(response.body)), replayed


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int((await session.scalar(select(func.count()).select_from(Thing))) or 0)


async def test_a_retry_with_the_same_key_replays_the_first_answer_and_creates_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await create(sessions, name="pedido", key="k-1")
    again = await create(sessions, name="pedido", key="k-1")

    assert first[0] == 201
    assert first[2] is False
    assert again == (201, first[1], True)
    assert await count(sessions) == 1


async def test_without_a_key_every_request_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(sessions, name="order", key=None)
    await create(sessions, name="order", key=None)
    assert await count(sessions) == 2


async def test_the_same_key_with_another_request_is_a_conflict(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(sessions, name="pedido", key="k-1")
    with pytest.raises(IdempotencyConflictError) as raised:
        await create(sessions, name="otro pedido", key="k-1")
    assert raised.value.status == 409
    assert await count(sessions) == 1


async def test_keys_belong_to_the_api_key_that_sent_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(sessions, name="pedido", key="k-1", owner="key-1")
    other = await create(sessions, name="pedido", key="k-1", owner="key-2")
    assert other[2] is False
    assert await count(sessions) == 2


async def test_a_failed_request_stores_nothing_so_its_retry_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ValueError, match="the work failed"):
        await create(sessions, name="pedido", key="k-1", fail=True)
    retried = await create(sessions, name="pedido", key="k-1")
    assert retried[2] is False
    assert await count(sessions) == 1


async def test_two_requests_at_once_with_one_key_create_one_object(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    answers = await asyncio.gather(
        create(sessions, name="pedido", key="k-1", pause=0.3),
        create(sessions, name="pedido", key="k-1", pause=0.3),
    )
    assert await count(sessions) == 1
    assert answers[0][1] == answers[1][1]
    assert sorted(replayed for _status, _body, replayed in answers) == [False, True]


def test_the_fingerprint_tells_routes_and_bodies_apart() -> None:
    same = idempotency.fingerprint(b'{"a": 1}', route="POST /v1/rules")
    assert same == idempotency.fingerprint(b'{"a": 1}', route="POST /v1/rules")
    assert same != idempotency.fingerprint(b'{"a": 1}', route="POST /v1/members")
    assert same != idempotency.fingerprint(b'{"a": 2}', route="POST /v1/rules")
    assert idempotency.fingerprint(ThingOut(id=1, name="x")) == idempotency.fingerprint(
        ThingOut(id=1, name="x").model_dump_json()
    )


# ------------------------------------------------------------------ respond_in_steps


async def create_in_steps(
    sessions: async_sessionmaker[AsyncSession],
    *,
    name: str,
    key: str | None,
    call: asyncio.Event | None = None,
    called: asyncio.Event | None = None,
    fail: bool = False,
    lease: timedelta = timedelta(seconds=60),
) -> tuple[int, dict[str, object], bool]:
    """A POST that reads, waits on a slow outside call (until `call` is set) with no
    transaction open, then writes."""
    async with sessions() as session:

        async def produce(steps: idempotency.Steps) -> ThingOut:
            async def read(read_session: AsyncSession) -> int:
                return int(
                    (await read_session.scalar(select(func.count()).select_from(Thing))) or 0
                )

            await steps.read(read)
            assert not session.in_transaction()  # nothing is held during the call
            if called is not None:
                called.set()
            if call is not None:
                await call.wait()
            if fail:
                raise ValueError("the outside call refused it")

            async def write(write_session: AsyncSession) -> ThingOut:
                thing = Thing(name=name)
                write_session.add(thing)
                await write_session.flush()
                return ThingOut(id=thing.id, name=thing.name)

            return await steps.write(write)

        try:
            response = await idempotency.respond_in_steps(
                session,
                IdempotentResponse,
                owner="key-1",
                key=key,
                request_hash=idempotency.fingerprint(name, route="POST /things"),
                status_code=201,
                lease=lease,
                produce=produce,
            )
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    replayed = response.headers.get(idempotency.REPLAY_HEADER) == "true"
    return response.status_code, json.loads(bytes(response.body)), replayed


async def test_in_steps_a_twin_while_in_flight_is_a_conflict_and_a_retry_replays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    call, called = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(
        create_in_steps(sessions, name="pedido", key="k-s1", call=call, called=called)
    )
    await asyncio.wait_for(called.wait(), 10)
    with pytest.raises(IdempotencyConflictError):
        await create_in_steps(sessions, name="pedido", key="k-s1")
    with pytest.raises(IdempotencyConflictError):  # another request with the key, as before
        await create_in_steps(sessions, name="otro", key="k-s1")
    call.set()
    status, body, replayed = await first
    assert (status, replayed) == (201, False)
    assert await create_in_steps(sessions, name="pedido", key="k-s1") == (201, body, True)
    assert await count(sessions) == 1


async def test_in_steps_a_failed_call_gives_the_key_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ValueError, match="refused"):
        await create_in_steps(sessions, name="pedido", key="k-s2", fail=True)
    status, _, replayed = await create_in_steps(sessions, name="pedido", key="k-s2")
    assert (status, replayed) == (201, False)
    assert await count(sessions) == 1


async def test_in_steps_a_claim_past_its_lease_is_taken_over_and_the_first_write_is_undone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The first request stalls past its lease (as if its process had died); a retry takes the
    claim over and commits; the first, resuming, finds its claim gone and writes nothing."""
    call, called = asyncio.Event(), asyncio.Event()
    lease = timedelta(milliseconds=200)
    stalled = asyncio.create_task(
        create_in_steps(sessions, name="pedido", key="k-s3", call=call, called=called, lease=lease)
    )
    await asyncio.wait_for(called.wait(), 10)
    await asyncio.sleep(0.4)
    status, body, replayed = await create_in_steps(sessions, name="pedido", key="k-s3", lease=lease)
    assert (status, replayed) == (201, False)
    call.set()
    with pytest.raises(IdempotencyConflictError):
        await stalled
    assert await count(sessions) == 1
    assert await create_in_steps(sessions, name="pedido", key="k-s3") == (201, body, True)
