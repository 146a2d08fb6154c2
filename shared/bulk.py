"""Bulk INSERT ... ON CONFLICT statements: one statement per table per poll (kpi's fold,
routing's intake, the outbox).

On PostgreSQL the rows go as ONE parameter, a JSON array of rows (each an array of the
columns' values), which the statement unpacks server-side with `jsonb_array_elements`. So the
statement is the same (and prepared once) whatever the number of rows (a multi-row VALUES is
compiled anew for every size), and the client encodes one string with orjson: one array
parameter per column made asyncpg encode every element in turn, with a few abstract-class
checks each, which cost more than the rest of the fold together. Timestamps go in the rows as
aware datetimes (`aware`). Values are cast back to the
column's type server-side (strings are left as text, so a value too long for its column still
fails as it would with a plain INSERT; bytes travel as base64, JSON columns as nested JSON).
Why our own: SQLAlchemy's executemany processes every parameter of every row in Python and
asyncpg then runs the statement once per row; no library sends a table's rows as one parameter.
SQLite gets an executemany of the same
INSERT ... ON CONFLICT (SQLAlchemy batches it into multi-row statements).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from shared.db import UtcDateTime

ROWS_PARAMETER = "rows_json"


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def aware(moment: datetime) -> datetime:
    """A timestamp column's value as given, once it is known to be aware (as the columns' own
    type requires): naive ones are refused rather than read in some server's zone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
    return moment


def rows_json(rows: Sequence[Sequence[Any]]) -> str:
    """The rows as the one parameter of a PostgreSQL bulk statement. orjson writes aware
    datetimes as RFC 3339 itself (an isoformat call per value cost more than the rest of the
    encoding), about seven times faster than the standard encoder with a fallback for them."""
    return orjson.dumps(rows).decode()


def _server_type(column_type: TypeEngine[Any]) -> TypeEngine[Any] | None:
    """The type the text of a value is cast to (None: stays text, for string columns)."""
    if isinstance(column_type, UtcDateTime):
        return DateTime(timezone=True)
    if isinstance(column_type, String):
        return None
    return column_type


def _unpacked(table: Table, names: Sequence[str], *, ordered: bool = False) -> Any:
    """SELECT of the columns `names` from the rows parameter, in that order (`ordered`: rows
    come out in the order of the array, so identity columns number them in that order)."""
    elements = func.jsonb_array_elements(cast(bindparam(ROWS_PARAMETER, type_=Text), JSONB))
    if ordered:
        rows = elements.table_valued("value", with_ordinality="ordinality")
    else:
        rows = elements.table_valued("value")
    rows = rows.alias("bulk_rows")
    values: list[ColumnElement[Any]] = []
    for position, name in enumerate(names):
        column_type = table.c[name].type
        index: ColumnElement[Any] = literal_column(str(position))
        value: ColumnElement[Any]
        if isinstance(column_type, JSON):
            value = cast(rows.c.value.op("->", return_type=JSONB)(index), column_type)
        else:
            text_value = rows.c.value.op("->>", return_type=Text)(index)
            if isinstance(column_type, LargeBinary):
                value = func.decode(text_value, literal_column("'base64'"), type_=column_type)
            else:
                server_type = _server_type(column_type)
                value = text_value if server_type is None else cast(text_value, server_type)
        values.append(value.label(name))
    query = select(*values).select_from(rows)
    return query.order_by(rows.c.ordinality) if ordered else query


@cache
def insert_statement(
    dialect: str, table: Table, names: tuple[str, ...], *, ordered: bool = False
) -> Any:
    """The INSERT of rows of `names` (built once per table and columns: building the
    statement's expression tree costs more than compiling it, which SQLAlchemy caches)."""
    if dialect == "postgresql":
        return postgresql.insert(table).from_select(names, _unpacked(table, names, ordered=ordered))
    return sqlite.insert(table)


@cache
def _positions(
    table: Table, names: tuple[str, ...], kind: type[TypeEngine[Any]]
) -> tuple[int, ...]:
    return tuple(
        position for position, name in enumerate(names) if isinstance(table.c[name].type, kind)
    )


def table_parameters(
    dialect: str, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Any:
    """`values_parameters` for rows of `table` as its columns' own types would bind them:
    naive timestamps are refused (UtcDateTime's rule), and on PostgreSQL bytes (a LargeBinary
    column) travel as base64 text, which the statement decodes."""
    key = tuple(names)
    _checked_aware(table, key, rows)
    binary = _positions(table, key, LargeBinary) if dialect == "postgresql" else ()
    if binary:
        encoded = []
        for row in rows:
            values = list(row)
            for position in binary:
                raw = values[position]
                if raw is not None:
                    values[position] = base64.b64encode(raw).decode("ascii")
            encoded.append(values)
        rows = encoded
    return values_parameters(dialect, names, rows)


def _checked_aware(table: Table, names: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
    for position in _positions(table, names, UtcDateTime):
        for row in rows:
            moment = row[position]
            if moment is not None and moment.tzinfo is None:
                raise ValueError(
                    f"{names[position]}: naive datetimes are refused: pass an aware UTC datetime"
                )


async def copy_rows(
    session: AsyncSession, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert `rows` (each the values of `names`, in that order) for a plain INSERT with no
    conflict clause: on PostgreSQL by a binary COPY in the session's transaction (the server's
    cheapest way in: no statement to parse, no JSON to unpack; identity values follow the order
    of `rows`), elsewhere by `insert_rows`. JSON columns take any JSON-encodable value; a
    failure is raised as SQLAlchemy's error of its kind (IntegrityError for a constraint), as
    a statement's would be."""
    if not rows:
        return
    key = tuple(names)
    if dialect_of(session) != "postgresql":
        await insert_rows(session, table, key, rows)
        return
    _checked_aware(table, key, rows)
    documents = _positions(table, key, JSON)
    records: Sequence[Sequence[Any]] = rows
    if documents:
        records = []
        for row in rows:
            values = list(row)
            for position in documents:
                values[position] = orjson.dumps(values[position]).decode()
            records.append(values)
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the session's connection is closed")
    if not driver.is_in_transaction():
        # The session begins its transaction lazily, at its first statement through SQLAlchemy.
        await session.execute(select(literal_column("1")))
    try:
        await driver.copy_records_to_table(
            table.name, records=records, columns=key, schema_name=_schema_of(session, table)
        )
    except asyncpg.PostgresError as error:
        kind = IntegrityError if str(error.sqlstate).startswith("23") else DBAPIError
        raise kind(f"COPY {table.fullname}", None, error) from error
    except asyncpg.InterfaceError as error:
        raise InterfaceError(
            f"COPY {table.fullname}", None, error, connection_invalidated=driver.is_closed()
        ) from error


def _schema_of(session: AsyncSession, table: Table) -> str | None:
    translate = session.get_bind().get_execution_options().get("schema_translate_map") or {}
    return translate.get(table.schema, table.schema)


async def insert_rows(
    session: AsyncSession,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    skip_conflicts_on: str | None = None,
    ordered: bool = False,
) -> None:
    """Insert `rows` (each the values of `names`, in that order) with one statement;
    `skip_conflicts_on`: rows whose value of that unique column is already there are left out
    (ON CONFLICT DO NOTHING); `ordered`: identity values follow the order of `rows`."""
    if not rows:
        return
    dialect = dialect_of(session)
    statement = _insert_rows_statement(dialect, table, tuple(names), skip_conflicts_on, ordered)
    await session.execute(statement, table_parameters(dialect, table, names, rows))


@cache
def _insert_rows_statement(
    dialect: str, table: Table, names: tuple[str, ...], key: str | None, ordered: bool
) -> Any:
    statement = insert_statement(dialect, table, names, ordered=ordered)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[key])
    return statement


def values_parameters(dialect: str, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """The parameters of `insert_values`' statement for `rows`."""
    if dialect == "postgresql":
        return {ROWS_PARAMETER: rows_json(rows)}
    return [dict(zip(names, row, strict=True)) for row in rows]


def insert_values(
    dialect: str, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[Any, Any]:
    """(INSERT of `rows`, each the values of the columns `names` in that order, into `table`;
    its parameters). The caller adds the ON CONFLICT clause (and RETURNING), which both
    dialects' inserts spell the same."""
    names = tuple(names)
    return insert_statement(dialect, table, names), values_parameters(dialect, names, rows)


@cache
def _insert_new(dialect: str, table: Table, names: tuple[str, ...], key: str) -> Any:
    statement = insert_statement(dialect, table, names).on_conflict_do_nothing(index_elements=[key])
    if dialect == "postgresql":
        # The new keys come back as one array, not a row each.
        inserted = statement.returning(table.c[key]).cte("inserted")
        return select(func.array_agg(inserted.c[key]))
    return statement.returning(table.c[key])


async def insert_new_parameters(
    session: AsyncSession, table: Table, names: Sequence[str], parameters: Any, key: str
) -> set[Any]:
    """Insert the rows (made into `parameters` by `values_parameters`, for the session's
    dialect; values of `names`) whose `key` is not in the table yet; the keys of those
    inserted."""
    dialect = dialect_of(session)
    statement = _insert_new(dialect, table, tuple(names), key)
    if dialect == "postgresql":
        return set(await session.scalar(statement, parameters) or ())
    return set((await session.scalars(statement, parameters)).all())


async def overwrite_values(
    session: AsyncSession,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    key: str,
) -> None:
    """Write the rows (values of `names`) as they are: insert, or replace every given column of
    the row with the same `key`; for rows the caller has locked and merged."""
    if not rows:
        return
    statement, parameters = insert_values(dialect_of(session), table, names, rows)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={name: statement.excluded[name] for name in names if name != key},
    )
    await session.execute(statement, parameters)
