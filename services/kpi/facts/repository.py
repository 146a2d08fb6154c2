"""Every query of the fact consumers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts.models import (
    CaseFact,
    CheckFact,
    EngagementFact,
    InteractionFact,
    ReplyFact,
)
from services.kpi.facts.state import INTERACTION_COLUMNS, InteractionRow, as_tuple
from services.kpi.rollups import repository as rollups
from shared import bulk


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """INSERT with ON CONFLICT for the session's database (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _interactions() -> Table:
    table = InteractionFact.__table__
    assert isinstance(table, Table)
    return table


_TIMESTAMPS = tuple(
    index
    for index, name in enumerate(INTERACTION_COLUMNS)
    if name in ("created_at", "version_at", "deleted_at")
)


def _interaction_values(rows: Sequence[InteractionRow]) -> list[Any]:
    values = []
    for row in rows:
        row_values = as_tuple(row)
        for index in _TIMESTAMPS:
            moment = row_values[index]
            if moment is not None:
                bulk.aware(moment)
        values.append(row_values)
    return values


def new_interactions_parameters(dialect: str, rows: Sequence[InteractionRow]) -> Any:
    """The parameters of `insert_new_interactions` for these rows (they need no session: a
    consumer works them out before the transaction)."""
    return bulk.values_parameters(dialect, INTERACTION_COLUMNS, _interaction_values(rows))


async def insert_new_interactions(session: AsyncSession, parameters: Any) -> set[str]:
    """Insert the interactions not known yet (`new_interactions_parameters`), in one
    statement; the ids of those inserted."""
    return await bulk.insert_new_parameters(
        session, _interactions(), INTERACTION_COLUMNS, parameters, "id"
    )


@cache
def _insert_new_counted() -> Any:
    table = _interactions()
    inserted = (
        bulk.insert_statement("postgresql", table, INTERACTION_COLUMNS)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(*table.c)
        .cte("inserted")
    )
    upserted = rollups.interaction_rollups_upsert(inserted).returning(literal(1)).cte("upserted")
    # The rollup upsert runs whether or not its rows are read; counting them makes it part of
    # the statement SQLAlchemy renders.
    return select(
        func.array_agg(inserted.c.id), select(func.count()).select_from(upserted).scalar_subquery()
    )


async def insert_new_interactions_counted(session: AsyncSession, parameters: Any) -> set[str]:
    """PostgreSQL: `insert_new_interactions`, and in the same statement what the facts it
    inserts contribute to the rollups (services/kpi/rollups/repository.py
    `interaction_rollups_upsert`): one round trip per poll for all of the database's work on
    new interactions."""
    row = (await session.execute(_insert_new_counted(), parameters)).one()
    return set(row[0] or ())


async def interactions_for_update(
    session: AsyncSession, ids: Sequence[str]
) -> dict[str, InteractionRow]:
    """The facts of `ids`, locked (in id order: two consumers never deadlock)."""
    table = _interactions()
    rows = await session.execute(
        select(*(table.c[name] for name in INTERACTION_COLUMNS))
        .where(table.c.id.in_(sorted(ids)))
        .order_by(table.c.id)
        .with_for_update()
    )
    return {row.id: InteractionRow(*row) for row in rows}


async def overwrite_interactions(session: AsyncSession, rows: Sequence[InteractionRow]) -> None:
    values = _interaction_values(rows)
    await bulk.overwrite_values(session, _interactions(), INTERACTION_COLUMNS, values, "id")


async def ensure_cases(session: AsyncSession, placeholders: Sequence[dict[str, str]]) -> None:
    """Create the case rows not there yet (replies may come before their case's events), so
    every fold of a case can lock its row first."""
    if not placeholders:
        return
    table = CaseFact.__table__
    assert isinstance(table, Table)
    statement = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["case_id"])
    await session.execute(statement, list(placeholders))


async def cases_for_update(session: AsyncSession, case_ids: Sequence[str]) -> dict[str, CaseFact]:
    # Locked in id order: two consumers folding the same cases never deadlock.
    rows = await session.scalars(
        select(CaseFact)
        .where(CaseFact.case_id.in_(sorted(case_ids)))
        .order_by(CaseFact.case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.case_id: row for row in rows}


async def replies_of(session: AsyncSession, case_ids: Sequence[str]) -> dict[str, list[ReplyFact]]:
    rows = await session.scalars(select(ReplyFact).where(ReplyFact.case_id.in_(sorted(case_ids))))
    grouped: dict[str, list[ReplyFact]] = defaultdict(list)
    for row in rows:
        grouped[row.case_id].append(row)
    return grouped


async def checks_of(session: AsyncSession, unit_keys: Sequence[str]) -> dict[str, list[CheckFact]]:
    rows = await session.scalars(
        select(CheckFact).where(CheckFact.unit_key.in_(sorted(unit_keys))).with_for_update()
    )
    grouped: dict[str, list[CheckFact]] = defaultdict(list)
    for row in rows:
        grouped[row.unit_key].append(row)
    return grouped


async def insert_engagement(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert engagement facts; the ids of those that were new."""
    if not rows:
        return set()
    table = EngagementFact.__table__
    assert isinstance(table, Table)
    # executemany with RETURNING: SQLAlchemy batches the rows into one cached statement.
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return set((await session.scalars(statement, list(rows))).all())
