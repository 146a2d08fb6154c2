"""Writes of rollup deltas (the fold and the rebuild)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Interval,
    String,
    Table,
    case,
    cast,
    column,
    delete,
    event,
    func,
    literal,
    select,
    true,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.kpi.rollups.contributions import SCORE_SCALE
from services.kpi.rollups.measures import MEASURE_INDEX, MEASURES, Delta, Granularity, RowKey
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS
from shared import bulk
from shared.db import UtcDateTime

_KEY = ("brand_id", "granularity", "bucket", "channel", "department", "member_id", "intent")
_SKETCH_KEY = (*_KEY, "metric", "bin")


@cache
def _upsert_statement(
    dialect: str, table: Table, key: tuple[str, ...], names: tuple[str, ...]
) -> Any:
    statement = bulk.insert_statement(dialect, table, names)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={
            name: table.c[name] + statement.excluded[name]
            for name in names
            if name not in key and name != "day"
        },
    )


def _upsert(
    dialect: str,
    table: Table,
    key: tuple[str, ...],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> tuple[Any, Any]:
    """The statement and parameters that add the non-key columns of `rows` (values of `names`)
    to the rows of `table` with the same key (inserting new ones): one statement whatever the
    number of rows (shared/bulk.py), built once per set of columns."""
    statement = _upsert_statement(dialect, table, key, tuple(names))
    return statement, bulk.values_parameters(dialect, names, rows)


def _key_rows(keys: Sequence[RowKey]) -> list[list[Any]]:
    """The key columns of each row (_KEY order), then its `day` (buckets are UTC: measures.py)."""
    rows = []
    for granularity, bucket, (brand, channel, department, member, intent) in keys:
        day = bucket if granularity == "d" else bucket.replace(hour=0, minute=0)
        rows.append([brand, granularity, bucket, channel, department, member, intent, day])
    return rows


def _statements(dialect: str, delta: Delta) -> list[tuple[Any, Any]]:
    """The upserts that add `delta` to the rollups, rows in key order so that consumers folding
    at the same time lock rows in the same order. Only the measures some row changes are sent
    (a poll of interactions sends 6 of them, not 25)."""
    delta.compact()
    statements = []
    if delta.rows:
        keys = sorted(delta.rows)
        measures = [delta.rows[key] for key in keys]
        changed = [index for index, values in enumerate(zip(*measures, strict=True)) if any(values)]
        pick = itemgetter(*changed)
        rows = _key_rows(keys)
        if len(changed) == 1:
            for row, values in zip(rows, measures, strict=True):
                row.append(pick(values))
        else:
            for row, values in zip(rows, measures, strict=True):
                row.extend(pick(values))
        names = [*_KEY, "day", *(MEASURES[index] for index in changed)]
        statements.append(_upsert(dialect, ROLLUPS, _KEY, names, rows))
    if delta.sketches:
        sketch_keys = sorted(delta.sketches)
        rows = _key_rows([key[:3] for key in sketch_keys])
        for row, key in zip(rows, sketch_keys, strict=True):
            row.extend((key[3], key[4], delta.sketches[key]))
        names = [*_KEY, "day", "metric", "bin", "count"]
        statements.append(_upsert(dialect, ROLLUP_SKETCHES, _SKETCH_KEY, names, rows))
    return statements


def prepare_statements(dialect: str, delta: Delta) -> None:
    """Work out the delta's statements now (before its transaction, ConsumerRunner.prepare):
    they are used as they are if the delta is written unchanged."""
    delta.prepared = (dialect, delta.changes, _statements(dialect, delta))


def _statements_of(dialect: str, delta: Delta) -> list[tuple[Any, Any]]:
    prepared = delta.prepared
    if isinstance(prepared, tuple) and prepared[:2] == (dialect, delta.changes):
        statements: list[tuple[Any, Any]] = prepared[2]
        return statements
    return _statements(dialect, delta)


async def apply_delta(session: AsyncSession, delta: Delta) -> None:
    """Add a delta to the rollups now."""
    for statement, parameters in _statements_of(session.get_bind().dialect.name, delta):
        await session.execute(statement, parameters)


_PENDING = "kpi_rollup_delta"


def pending_delta(session: AsyncSession, start: Delta | None = None) -> Delta:
    """The transaction's rollup delta: folds of one poll add to it, and it is written once,
    just before the transaction commits (one upsert per table per poll instead of one per event
    type). `start` (a delta of the poll's own, which the transaction then owns) becomes it
    when there is none yet, else is added to it."""
    delta = session.info.get(_PENDING)
    if isinstance(delta, Delta):
        if start is not None:
            delta.merge(start)
        return delta
    delta = start if start is not None else Delta()
    session.info[_PENDING] = delta
    sync_session = session.sync_session

    def write_pending(_session: Session) -> None:
        pending = sync_session.info.pop(_PENDING, None)
        if isinstance(pending, Delta):
            # Runs inside the async session's commit: execute is awaited for us there.
            dialect = sync_session.get_bind().dialect.name
            for statement, parameters in _statements_of(dialect, pending):
                sync_session.execute(statement, parameters)

    event.listen(sync_session, "before_commit", write_pending, once=True)
    return delta


async def clear(session: AsyncSession, brand_id: str | None = None) -> None:
    for table in (ROLLUPS, ROLLUP_SKETCHES):
        statement = delete(table)
        if brand_id is not None:
            statement = statement.where(table.c.brand_id == brand_id)
        await session.execute(statement)


# What an interaction fact adds to the rollups (`interaction_entries`), in SQL.
# The interaction group that opens MEASURES (measures.py), up to the engagement records.
INTERACTION_MEASURES = MEASURES[: MEASURE_INDEX["engagement_records"]]
_EPOCH = literal(datetime(1970, 1, 1, tzinfo=UTC), UtcDateTime)
_DAY = literal(Granularity.STEP[Granularity.day], Interval)


def utc_bucket(step: Any, moment: Any) -> Any:
    """SQL: the start of the UTC minute, hour or day (`step`, an interval) that `moment` is in,
    as `bucket_start` (measures.py) computes it in Python: a bin of that width from the Unix
    epoch. The same as date_trunc(unit, moment, 'UTC') (UTC has no offsets to follow), at a
    thirtieth of its cost: the fold computes six per fact, 2 ms of each poll of 1,000."""
    return func.date_bin(step, moment, _EPOCH, type_=UtcDateTime)


def interaction_rollups_upsert(facts: Any) -> Any:
    """The upsert that adds what the interaction facts `facts` (a CTE with their columns: the
    RETURNING of the INSERT that stored them) contribute to the rollups, in the same statement
    (PostgreSQL only).

    `interaction_entries` (contributions.py) in SQL: an interaction with a platform time, not
    deleted and not our own counts once, with its sentiment, at its UTC minute, hour and day
    under brand x channel. Summed per row in SQL, so only the facts that INSERT actually stored
    count (a redelivered one is not in its RETURNING), and rows are written in key order with
    codepoint comparison, the order `_statements` sorts Python's keys in (consumers lock rows
    in one order). tests/kpi/test_rollup_property.py checks the fold against the rebuild, which
    sums `interaction_entries` in Python."""
    counted = (
        select(
            facts.c.brand_id,
            facts.c.channel,
            facts.c.created_at,
            literal(1, Integer).label("interactions"),
            *(
                case((facts.c.sentiment_label == label, 1), else_=0).label(f"sentiment_{label}")
                for label in ("positive", "neutral", "negative")
            ),
            case((facts.c.sentiment_score.is_not(None), 1), else_=0).label("sentiment_scored"),
            # round() of a double rounds half to even, as Python's round() does.
            func.coalesce(
                cast(func.round(facts.c.sentiment_score * float(SCORE_SCALE)), BigInteger), 0
            ).label("sentiment_score_micros"),
        )
        .where(
            facts.c.created_at.is_not(None),
            facts.c.deleted_at.is_(None),
            facts.c.own_message.is_(False),
        )
        .cte("counted")
    )
    granularities = (
        values(column("granularity", String), column("step", Interval), name="granularities")
        .data([(granularity, Granularity.STEP[granularity]) for granularity in Granularity.ALL])
        .alias("granularities")
    )
    granularity = granularities.c.granularity.collate("C")
    bucket = utc_bucket(granularities.c.step, counted.c.created_at)
    brand = counted.c.brand_id.collate("C")
    channel = counted.c.channel.collate("C")
    day = utc_bucket(_DAY, counted.c.created_at)
    # Grouped in the order the rows are written in, so one sort can serve both.
    order = (granularity, bucket, brand, channel)
    summed = (
        select(
            brand.label("brand_id"),
            granularity.label("granularity"),
            bucket.label("bucket"),
            channel.label("channel"),
            literal("").label("department"),
            literal("").label("member_id"),
            literal("").label("intent"),
            day.label("day"),
            *(func.sum(counted.c[name]).label(name) for name in INTERACTION_MEASURES),
        )
        .select_from(counted.join(granularities, true()))
        .group_by(*order, day)
        .order_by(*order)
    )
    names = [*_KEY, "day", *INTERACTION_MEASURES]
    statement = postgresql.insert(ROLLUPS).from_select(names, summed)
    return statement.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={name: ROLLUPS.c[name] + statement.excluded[name] for name in INTERACTION_MEASURES},
    )
