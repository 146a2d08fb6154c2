"""Every query of the KPI API: rollup sums over bucket ranges, and the per-case export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
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


async def summed_measures(
    session: AsyncSession,
    *,
    brand_id: str,
    segments: Sequence[Segment],
    group_by: Sequence[str],
    principal: Principal,
    department: str | None = None,
) -> list[Any]:
    """One row per group: the group's values, then the sum of every measure."""
    groups = [ROLLUPS.c[GROUP_COLUMNS[name]] for name in group_by]
    statement: Select[Any] = (
        select(*groups, *(func.sum(ROLLUPS.c[name]) for name in MEASURES))
        .where(_where(ROLLUPS, brand_id, segments, principal, department))
        .group_by(*groups)
    )
    return list((await session.execute(statement)).all())


async def summed_sketches(
    session: AsyncSession,
    *,
    brand_id: str,
    segments: Sequence[Segment],
    group_by: Sequence[str],
    principal: Principal,
    department: str | None = None,
) -> list[Any]:
    """One row per group, metric and bin: the group's values, metric, bin, count."""
    table = ROLLUP_SKETCHES
    groups = [table.c[GROUP_COLUMNS[name]] for name in group_by]
    statement: Select[Any] = (
        select(*groups, table.c.metric, table.c.bin, func.sum(table.c.count))
        .where(_where(table, brand_id, segments, principal, department))
        .group_by(*groups, table.c.metric, table.c.bin)
    )
    return list((await session.execute(statement)).all())


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
    """Cases opened in [start, end) with their first reply time and reply count."""
    replies = (
        select(
            ReplyFact.case_id,
            func.min(ReplyFact.sent_at).label("first_reply_at"),
            func.count().label("reply_count"),
        )
        .group_by(ReplyFact.case_id)
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
        select(CaseFact, replies.c.first_reply_at, replies.c.reply_count)
        .outerjoin(replies, replies.c.case_id == CaseFact.case_id)
        .where(condition)
        .order_by(CaseFact.opened_at, CaseFact.case_id)
    )
    return list((await session.execute(statement)).all())
