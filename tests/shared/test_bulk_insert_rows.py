"""shared.bulk.insert_rows (on PostgreSQL the rows as one JSON parameter) and copy_rows (a
binary COPY), each also on SQLite (an executemany): every column type the services write comes
back as it went in, identity values follow the order of the rows, conflicts are skipped when
asked, and naive timestamps, over-long strings and constraint violations are refused as a plain
INSERT would refuse them (SQLAlchemy's errors, in the session's transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from scripts.infra import create_database
from shared import bulk
from shared.db import UtcDateTime, create_engine

metadata = MetaData()
ITEMS = Table(
    "bulk_items",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("key", String(20), nullable=False, unique=True),
    Column("text", Text, nullable=True),
    Column("score", Float, nullable=True),
    Column("flag", Boolean, nullable=False),
    Column("count", BigInteger, nullable=True),
    Column("at", UtcDateTime, nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("document", JSON, nullable=True),
)
NAMES = ("key", "text", "score", "flag", "count", "at", "payload", "document")
MADRID = timezone(timedelta(hours=1))


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.integration), "sqlite"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        url = await create_database(request.getfixturevalue("postgres_url"))
        made = create_engine(url, schema="public")
    else:
        made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}", schema="public")
    async with made.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield made
    await made.dispose()


def _row(key: str, **overrides: object) -> tuple[object, ...]:
    values: dict[str, object] = {
        "key": key,
        "text": '¿Dónde está mi pedido? "comillas" \\ y emoji 🎉',
        "score": -0.25,
        "flag": True,
        "count": 2**40,
        "at": datetime(2026, 12, 1, 10, 30, 15, 250_000, tzinfo=MADRID),
        "payload": bytes(range(256)) + b'{"type": "case.opened"}',
        "document": {"tags": ["vip", "envío"], "nested": {"n": 1, "none": None}},
    }
    values.update(overrides)
    return tuple(values[name] for name in NAMES)


async def _stored(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with AsyncSession(engine) as session:
        result = await session.execute(select(ITEMS).order_by(ITEMS.c.id))
        return [tuple(row) for row in result]


async def _insert(session: AsyncSession, rows: list[tuple[object, ...]], how: str) -> None:
    if how == "copy":
        await bulk.copy_rows(session, ITEMS, NAMES, rows)
    else:
        await bulk.insert_rows(session, ITEMS, NAMES, rows, ordered=True)


HOW = pytest.mark.parametrize("how", ["insert", "copy"])


@HOW
async def test_every_column_type_round_trips(engine: AsyncEngine, how: str) -> None:
    rows = [_row("a"), _row("b", text=None, score=None, count=None, at=None, payload=None)]
    async with AsyncSession(engine) as session, session.begin():
        await _insert(session, rows, how)
    stored = await _stored(engine)
    assert [row[1:] for row in stored][0][:5] == rows[0][:5]
    first = dict(zip(("id", *NAMES), stored[0], strict=True))
    assert first["at"] == datetime(2026, 12, 1, 9, 30, 15, 250_000, tzinfo=UTC)
    assert first["payload"] == rows[0][6]
    assert first["document"] == rows[0][7]
    second = dict(zip(("id", *NAMES), stored[1], strict=True))
    assert (second["text"], second["score"], second["count"], second["at"]) == (
        None,
        None,
        None,
        None,
    )
    assert second["payload"] is None


@HOW
async def test_identity_values_follow_the_order_of_the_rows(engine: AsyncEngine, how: str) -> None:
    keys = [f"k{index:03d}" for index in reversed(range(300))]
    async with AsyncSession(engine) as session, session.begin():
        await _insert(session, [_row(key) for key in keys], how)
    assert [row[1] for row in await _stored(engine)] == keys


async def test_conflicts_are_skipped_when_asked_and_fail_otherwise(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await bulk.insert_rows(session, ITEMS, NAMES, [_row("same", text="first")])
    async with AsyncSession(engine) as session, session.begin():
        await bulk.insert_rows(
            session,
            ITEMS,
            NAMES,
            [_row("same", text="again"), _row("new"), _row("new", text="twice")],
            skip_conflicts_on="key",
        )
    stored = await _stored(engine)
    assert [(row[1], row[2]) for row in stored][:1] == [("same", "first")]
    assert sorted(str(row[1]) for row in stored) == ["new", "same"]
    for how in ("insert", "copy"):
        with pytest.raises(IntegrityError):
            async with AsyncSession(engine) as session, session.begin():
                await _insert(session, [_row("same")], how)


@HOW
async def test_a_naive_timestamp_is_refused_and_nothing_is_written(
    engine: AsyncEngine, how: str
) -> None:
    with pytest.raises(ValueError, match="at: naive"):
        async with AsyncSession(engine) as session, session.begin():
            await _insert(session, [_row("ok"), _row("naive", at=datetime(2026, 12, 1, 9))], how)
    assert await _stored(engine) == []


@HOW
async def test_a_string_too_long_for_its_column_fails_as_a_plain_insert_would(
    engine: AsyncEngine, how: str
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(DBAPIError, match="too long"):
        async with AsyncSession(engine) as session, session.begin():
            await _insert(session, [_row("k" * 21)], how)


async def test_a_copy_is_part_of_the_sessions_transaction(engine: AsyncEngine) -> None:
    """Rolled back with it, even as the transaction's first statement, and seen by the
    statements after it."""
    async with AsyncSession(engine) as session:
        await bulk.copy_rows(session, ITEMS, NAMES, [_row("first")])
        counted = await session.scalar(select(func.count()).select_from(ITEMS))
        assert counted == 1
        await session.rollback()
    assert await _stored(engine) == []
