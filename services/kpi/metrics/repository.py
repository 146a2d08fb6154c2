"""Every query of the KPI API: rollup sums over bucket ranges, and the per-case export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts.models import CaseFact, ReplyFact
from services.kpi.rollups.measures import MEASURES
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS
from shared.auth import Principal

Segment = tuple[str, datetime, datetime]  # granularity, start, end (end excluded)
GROUP_COLUMNS = {
    "channel": "channel",
    "department": "department",
    "member": "member_id",
    "intent": "intent",
    "day": "day",
}


def department_condition(column: Any, principal: Principal) -> ColumnElement[bool]:
    """Rows the key may see by department: HR only for HR, a limited key only its own
    departments (brand-wide rows, '' = no department, need a key without a limit)."""
    if principal.is_admin:
        return true()
    if principal.departments is None:
        visible: ColumnElement[bool] = column != "hr"
        return visible
    if not principal.departments:
        return false()
    limited: ColumnElement[bool] = column.in_(sorted(principal.departments))
    return limited


def _where(
    table: Any,
    brand_id: str,
    segments: Sequence[Segment],
    principal: Principal,
    department: str | None,
) -> ColumnElement[bool]:
    ranges = [
        and_(table.c.granularity == granularity, table.c.bucket >= start, table.c.bucket < end)
        for granularity, start, end in segments
    ]
    condition = and_(
        table.c.brand_id == brand_id,
        or_(*ranges) if ranges else false(),
        department_condition(table.c.department, principal),
    )
    if department is not None:
        condition = and_(condition, table.c.department == department)
    return condition


def _visibility(principal: Principal) -> str:
    if principal.is_admin:
        return "all"
    if principal.departments is None:
        return "not_hr"
    return "some" if principal.departments else "none"


def _prepared_condition(table: Any, tiles: int, visibility: str, department: bool) -> Any:
    """`_where` with every value a bound parameter, so the statement is built once per shape."""
    ranges = [
        and_(
            table.c.granularity == bindparam(f"granularity_{index}"),
            table.c.bucket >= bindparam(f"start_{index}"),
            table.c.bucket < bindparam(f"end_{index}"),
        )
        for index in range(tiles)
    ]
    condition = and_(table.c.brand_id == bindparam("brand_id"), or_(*ranges) if ranges else false())
    if visibility == "not_hr":
        condition = and_(condition, table.c.department != "hr")
    elif visibility == "none":
        condition = and_(condition, false())
    elif visibility == "some":
        condition = and_(
            condition, table.c.department.in_(bindparam("departments", expanding=True))
        )
    if department:
        condition = and_(condition, table.c.department == bindparam("department"))
    return condition


@lru_cache(maxsize=256)
def _summary_statement(
    group_by: tuple[str, ...], tiles: int, visibility: str, department: bool
) -> Any:
    """Measure sums and sketch-bin sums per group in one statement (one round trip): measure
    rows have a NULL metric, sketch rows NULL measures; and, unless grouped by day, each group's
    backlog (metric BACKLOG_METRIC)."""
    measure_groups = [ROLLUPS.c[GROUP_COLUMNS[name]] for name in group_by]
    sketch_groups = [ROLLUP_SKETCHES.c[GROUP_COLUMNS[name]] for name in group_by]
    no_number = cast(null(), BigInteger)
    measures = (
        select(
            *measure_groups,
            *(func.sum(ROLLUPS.c[name]) for name in MEASURES),
            no_number.label("metric"),
            no_number.label("bin"),
            no_number.label("count"),
        )
        .where(_prepared_condition(ROLLUPS, tiles, visibility, department))
        .group_by(*measure_groups)
    )
    sketches = (
        select(
            *sketch_groups,
            *(no_number for _ in MEASURES),
            ROLLUP_SKETCHES.c.metric,
            ROLLUP_SKETCHES.c.bin,
            func.sum(ROLLUP_SKETCHES.c.count),
        )
        .where(_prepared_condition(ROLLUP_SKETCHES, tiles, visibility, department))
        .group_by(*sketch_groups, ROLLUP_SKETCHES.c.metric, ROLLUP_SKETCHES.c.bin)
    )
    branches = [measures, sketches]
    if "day" not in group_by:
        branches.append(_backlog_select(group_by, visibility, department))
    return union_all(*branches)


ACTIVE_STATUSES = ("open", "pending")
# The metric of the backlog rows of the summary statement (sketch metrics are positive).
BACKLOG_METRIC = -1
_CASE_GROUP_COLUMNS = {
    "channel": CaseFact.channel,
    "department": CaseFact.department,
    "member": CaseFact.assignee_id,
    "intent": CaseFact.intent,
}


def _backlog_select(group_by: tuple[str, ...], visibility: str, department: bool) -> Any:
    """Cases open or pending now, counted per group ('' where a case has none, as in the
    rollups), as rows of the summary statement: NULL measures, metric BACKLOG_METRIC, the count
    in `count`. Not per day: the backlog is a state, not a sum over buckets."""
    # '' as SQL text, not a parameter: GROUP BY must repeat the selected expression exactly.
    groups = [func.coalesce(_CASE_GROUP_COLUMNS[name], literal_column("''")) for name in group_by]
    no_number = cast(null(), BigInteger)
    handled = func.coalesce(CaseFact.department, "")
    condition = and_(
        CaseFact.brand_id == bindparam("brand_id"), CaseFact.status.in_(ACTIVE_STATUSES)
    )
    if visibility == "not_hr":
        condition = and_(condition, handled != "hr")
    elif visibility == "none":
        condition = and_(condition, false())
    elif visibility == "some":
        condition = and_(condition, handled.in_(bindparam("departments", expanding=True)))
    if department:
        condition = and_(condition, CaseFact.department == bindparam("department"))
    return (
        select(
            *groups,
            *(no_number for _ in MEASURES),
            cast(literal(BACKLOG_METRIC), BigInteger),
            no_number,
            func.count(),
        )
        .where(condition)
        .group_by(*groups)
    )


async def summed_rollups(
    session: AsyncSession,
    *,
    brand_id: str,
    segments: Sequence[Segment],
    group_by: Sequence[str],
    principal: Principal,
    department: str | None = None,
) -> list[Any]:
    """Rows of the group's values, then the sum of every measure, then metric, bin, count:
    measure sums (metric NULL) and sketch-bin sums (measures NULL) of each group."""
    visibility = _visibility(principal)
    statement = _summary_statement(
        tuple(group_by), len(segments), visibility, department is not None
    )
    parameters: dict[str, Any] = {"brand_id": brand_id}
    for index, (granularity, start, end) in enumerate(segments):
        parameters.update(
            {f"granularity_{index}": granularity, f"start_{index}": start, f"end_{index}": end}
        )
    if visibility == "some":
        parameters["departments"] = sorted(principal.departments or ())
    if department is not None:
        parameters["department"] = department
    return list((await session.execute(statement, parameters)).all())


async def series_measures(
    session: AsyncSession,
    *,
    brand_id: str,
    granularity: str,
    start: datetime,
    end: datetime,
    principal: Principal,
    department: str | None,
) -> tuple[list[Any], list[Any]]:
    """Per bucket of one granularity: summed measures, and summed sketch bins."""
    segments = [(granularity, start, end)]
    rows = await session.execute(
        select(ROLLUPS.c.bucket, *(func.sum(ROLLUPS.c[name]) for name in MEASURES))
        .where(_where(ROLLUPS, brand_id, segments, principal, department))
        .group_by(ROLLUPS.c.bucket)
    )
    sketches = await session.execute(
        select(
            ROLLUP_SKETCHES.c.bucket,
            ROLLUP_SKETCHES.c.metric,
            ROLLUP_SKETCHES.c.bin,
            func.sum(ROLLUP_SKETCHES.c.count),
        )
        .where(_where(ROLLUP_SKETCHES, brand_id, segments, principal, department))
        .group_by(ROLLUP_SKETCHES.c.bucket, ROLLUP_SKETCHES.c.metric, ROLLUP_SKETCHES.c.bin)
    )
    return list(rows.all()), list(sketches.all())


async def cases_opened(
    session: AsyncSession,
    *,
    brand_id: str,
    start: datetime,
    end: datetime,
    principal: Principal,
    department: str | None,
) -> list[Any]:
    """Cases opened in [start, end) with their first reply time, reply count and first
    response time in business hours (the first reply's, as routing measured it)."""
    replies = (
        select(
            ReplyFact.case_id,
            func.min(ReplyFact.sent_at).label("first_reply_at"),
            func.count().label("reply_count"),
        )
        .group_by(ReplyFact.case_id)
        .subquery()
    )
    ranked = select(
        ReplyFact.case_id,
        ReplyFact.first_inbound_business_ms,
        func.row_number()
        .over(partition_by=ReplyFact.case_id, order_by=(ReplyFact.sent_at, ReplyFact.reply_id))
        .label("rank"),
    ).subquery()
    first_reply = (
        select(ranked.c.case_id, ranked.c.first_inbound_business_ms)
        .where(ranked.c.rank == 1)
        .subquery()
    )
    condition = and_(
        CaseFact.brand_id == brand_id,
        CaseFact.opened_at >= start,
        CaseFact.opened_at < end,
        department_condition(func.coalesce(CaseFact.department, ""), principal),
    )
    if department is not None:
        condition = and_(condition, CaseFact.department == department)
    statement = (
        select(
            CaseFact,
            replies.c.first_reply_at,
            replies.c.reply_count,
            first_reply.c.first_inbound_business_ms,
        )
        .outerjoin(replies, replies.c.case_id == CaseFact.case_id)
        .outerjoin(first_reply, first_reply.c.case_id == CaseFact.case_id)
        .where(condition)
        .order_by(CaseFact.opened_at, CaseFact.case_id)
    )
    return list((await session.execute(statement)).all())
