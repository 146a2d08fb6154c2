"""Writes of rollup deltas (the fold and the rebuild)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.kpi import bulk
from services.kpi.rollups.measures import MEASURES, Delta, Dimensions
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS

_KEY = ("brand_id", "granularity", "bucket", "channel", "department", "member_id", "intent")
_SKETCH_KEY = (*_KEY, "metric", "bin")


def _upsert(
    dialect: str, table: Table, key: tuple[str, ...], columns: dict[str, Sequence[Any]]
) -> tuple[Any, Any]:
    """The statement and parameters that add the non-key columns to the rows of `table` with
    the same key (inserting new ones): one statement whatever the number of rows
    (services/kpi/bulk.py)."""
    statement, parameters = bulk.insert_columns(dialect, table, columns)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={
            name: table.c[name] + statement.excluded[name]
            for name in columns
            if name not in key and name != "day"
        },
    )
    return statement, parameters


def _key_columns(keys: Sequence[tuple[str, datetime, Dimensions]]) -> dict[str, Sequence[Any]]:
    granularities, buckets, dimensions = zip(*keys, strict=True)
    brands, channels, departments, members, intents = zip(*dimensions, strict=True)
    return {
        "brand_id": brands,
        "granularity": granularities,
        "bucket": buckets,
        "channel": channels,
        "department": departments,
        "member_id": members,
        "intent": intents,
        "day": [bucket.replace(hour=0, minute=0, second=0, microsecond=0) for bucket in buckets],
    }


def _statements(dialect: str, delta: Delta) -> list[tuple[Any, Any]]:
    """The upserts that add `delta` to the rollups, rows in key order so that consumers folding
    at the same time lock rows in the same order. Column by column, and only the measures
    some row changes (a poll of interactions sends 6 of them, not 25)."""
    delta.compact()
    statements = []
    if delta.rows:
        keys = sorted(delta.rows)
        columns = _key_columns(keys)
        for name, values in zip(
            MEASURES, zip(*(delta.rows[key] for key in keys), strict=True), strict=True
        ):
            if any(values):
                columns[name] = values
        statements.append(_upsert(dialect, ROLLUPS, _KEY, columns))
    if delta.sketches:
        sketch_keys = sorted(delta.sketches)
        columns = _key_columns([key[:3] for key in sketch_keys])
        columns["metric"] = [key[3] for key in sketch_keys]
        columns["bin"] = [key[4] for key in sketch_keys]
        columns["count"] = [delta.sketches[key] for key in sketch_keys]
        statements.append(_upsert(dialect, ROLLUP_SKETCHES, _SKETCH_KEY, columns))
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
