"""Writes of rollup deltas (the fold and the rebuild)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts.repository import dialect_insert
from services.kpi.rollups.measures import MEASURES, Delta, bucket_start
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS

_KEY = ("brand_id", "granularity", "bucket", "channel", "department", "member_id", "intent")
_SKETCH_KEY = (*_KEY, "metric", "bin")
# asyncpg takes at most 32,767 parameters per statement.
_MAX_PARAMETERS = 30_000


def _chunks(rows: list[dict[str, Any]], width: int) -> list[list[dict[str, Any]]]:
    size = max(1, _MAX_PARAMETERS // width)
    return [rows[start : start + size] for start in range(0, len(rows), size)]


async def _upsert(
    session: AsyncSession,
    table: Table,
    key: tuple[str, ...],
    values: tuple[str, ...],
    rows: list[dict[str, Any]],
) -> None:
    for chunk in _chunks(rows, len(key) + len(values) + 1):
        statement = dialect_insert(session, table).values(chunk)
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: table.c[name] + statement.excluded[name] for name in values},
        )
        await session.execute(statement)


async def apply_delta(session: AsyncSession, delta: Delta) -> None:
    """Add a delta to the rollups: one upsert per chunk of rows, rows in key order so that
    consumers folding at the same time lock rows in the same order."""
    delta.compact()
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
        await _upsert(session, ROLLUPS, _KEY, MEASURES, rows)
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
        await _upsert(session, ROLLUP_SKETCHES, _SKETCH_KEY, ("count",), sketch_rows)


async def clear(session: AsyncSession, brand_id: str | None = None) -> None:
    for table in (ROLLUPS, ROLLUP_SKETCHES):
        statement = delete(table)
        if brand_id is not None:
            statement = statement.where(table.c.brand_id == brand_id)
        await session.execute(statement)
