"""Bulk INSERT ... ON CONFLICT statements of the fold: one statement per table per poll.

On PostgreSQL the rows go as one array per column, unnested server-side, so the statement is
the same (and prepared once) whatever the number of rows: a multi-row VALUES is compiled anew
for every size and costs far more to compile than to run. SQLite gets an executemany of the
same INSERT ... ON CONFLICT (SQLAlchemy batches it into multi-row statements).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import DateTime, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UtcDateTime


def _array_type(table: Table, name: str) -> ARRAY[Any]:
    column_type = table.c[name].type
    if isinstance(column_type, UtcDateTime):
        return ARRAY(DateTime(timezone=True))
    return ARRAY(column_type)


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_columns(
    dialect: str, table: Table, columns: Mapping[str, Sequence[Any]]
) -> tuple[Any, Any]:
    """(INSERT of the rows given column by column into `table`, its parameters); the caller
    adds the ON CONFLICT clause (and RETURNING), which both dialects' inserts spell the same."""
    names = list(columns)
    if dialect == "postgresql":
        source = select(
            *(
                func.unnest(bindparam(f"column_{name}", type_=_array_type(table, name))).label(name)
                for name in names
            )
        )
        statement = postgresql.insert(table).from_select(names, source)
        return statement, {f"column_{name}": list(values) for name, values in columns.items()}
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return sqlite.insert(table), rows


def insert_rows(
    dialect: str, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[Any, Any]:
    """`insert_columns` for rows given as mappings."""
    return insert_columns(dialect, table, {name: [row[name] for row in rows] for name in columns})


async def insert_new(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: str,
) -> set[Any]:
    """Insert the rows whose `key` is not in the table yet; the keys of those inserted."""
    if not rows:
        return set()
    statement, parameters = insert_rows(dialect_of(session), table, list(rows[0]), rows)
    statement = statement.on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return set((await session.scalars(statement, parameters)).all())


async def overwrite(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], key: str
) -> None:
    """Write the rows as they are (insert, or replace every given column of the row with the
    same `key`): for rows the caller has locked and merged."""
    if not rows:
        return
    columns = list(rows[0])
    statement, parameters = insert_rows(dialect_of(session), table, columns, rows)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={name: statement.excluded[name] for name in columns if name != key},
    )
    await session.execute(statement, parameters)
