"""Writes of rollup deltas (the fold and the rebuild)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, Table, bindparam, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.kpi.rollups.measures import MEASURES, Delta, bucket_start
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS
from shared.db import UtcDateTime

_KEY = ("brand_id", "granularity", "bucket", "channel", "department", "member_id", "intent")
_SKETCH_KEY = (*_KEY, "metric", "bin")


def _array_type(table: Table, name: str) -> ARRAY[Any]:
    column_type = table.c[name].type
    if isinstance(column_type, UtcDateTime):
        return ARRAY(DateTime(timezone=True))
    return ARRAY(column_type)


def _upsert(
    dialect: str,
    table: Table,
    key: tuple[str, ...],
    values: tuple[str, ...],
    rows: list[dict[str, Any]],
) -> tuple[Any, Any]:
    """The statement and parameters that add `values` of `rows` to the rows of `table` with
    the same key (inserting new ones).

    On PostgreSQL one statement whatever the number of rows: the columns go as arrays and are
    unnested server-side (a multi-row VALUES would be compiled anew for every size, and costs
    far more to compile than to run). SQLite gets an executemany of the same upsert.
    """
    columns = [*key, "day", *values]
    if dialect == "postgresql":
        source = select(
            *(
                func.unnest(bindparam(f"column_{name}", type_=_array_type(table, name))).label(name)
                for name in columns
            )
        )
        statement = postgresql.insert(table).from_select(columns, source)
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: table.c[name] + statement.excluded[name] for name in values},
        )
        return statement, {f"column_{name}": [row[name] for row in rows] for name in columns}
    upsert = sqlite.insert(table)
    upsert = upsert.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + upsert.excluded[name] for name in values},
    )
    return upsert, rows


def _statements(dialect: str, delta: Delta) -> list[tuple[Any, Any]]:
    """The upserts that add `delta` to the rollups, rows in key order so that consumers folding
    at the same time lock rows in the same order."""
    delta.compact()
    statements = []
    rows = []
    for (granularity, bucket, dimensions), measures in sorted(delta.rows.items()):
        brand_id, channel, department, member_id, intent = dimensions
        row: dict[str, Any] = {
            "brand_id": brand_id,
            "granularity": granularity,
            "bucket": bucket,
            "channel": channel,
            "department": department,
            "member_id": member_id,
            "intent": intent,
            "day": bucket_start(bucket, "d"),
        }
        row.update(zip(MEASURES, measures, strict=True))
        rows.append(row)
    if rows:
        statements.append(_upsert(dialect, ROLLUPS, _KEY, MEASURES, rows))
    sketch_rows = []
    for (granularity, bucket, dimensions, metric, bin_index), count in sorted(
        delta.sketches.items()
    ):
        brand_id, channel, department, member_id, intent = dimensions
        sketch_rows.append(
            {
                "brand_id": brand_id,
                "granularity": granularity,
                "bucket": bucket,
                "channel": channel,
                "department": department,
                "member_id": member_id,
                "intent": intent,
                "metric": metric,
                "bin": bin_index,
                "day": bucket_start(bucket, "d"),
                "count": count,
            }
        )
    if sketch_rows:
        statements.append(_upsert(dialect, ROLLUP_SKETCHES, _SKETCH_KEY, ("count",), sketch_rows))
    return statements


async def apply_delta(session: AsyncSession, delta: Delta) -> None:
    """Add a delta to the rollups now."""
    for statement, parameters in _statements(session.get_bind().dialect.name, delta):
        await session.execute(statement, parameters)


_PENDING = "kpi_rollup_delta"


def pending_delta(session: AsyncSession) -> Delta:
    """The transaction's rollup delta: folds of one poll add to it, and it is written once,
    just before the transaction commits (one upsert per table per poll instead of one per event
    type)."""
    delta = session.info.get(_PENDING)
    if isinstance(delta, Delta):
        return delta
    delta = Delta()
    session.info[_PENDING] = delta
    sync_session = session.sync_session

    def write_pending(_session: Session) -> None:
        pending = sync_session.info.pop(_PENDING, None)
        if isinstance(pending, Delta):
            # Runs inside the async session's commit: execute is awaited for us there.
            for statement, parameters in _statements(sync_session.get_bind().dialect.name, pending):
                sync_session.execute(statement, parameters)

    event.listen(sync_session, "before_commit", write_pending, once=True)
    return delta


async def clear(session: AsyncSession, brand_id: str | None = None) -> None:
    for table in (ROLLUPS, ROLLUP_SKETCHES):
        statement = delete(table)
        if brand_id is not None:
            statement = statement.where(table.c.brand_id == brand_id)
        await session.execute(statement)
