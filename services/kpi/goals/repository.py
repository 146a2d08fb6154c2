"""Every query of goals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.goals.models import Goal
from shared.auth import Principal, brand_condition


def visible(principal: Principal) -> ColumnElement[bool]:
    """Goals the key may see: its brands; by department like the KPIs (a brand-wide goal
    needs a key without a department limit, HR goals an HR key)."""
    condition = brand_condition(Goal.brand_id, principal.brands)
    if principal.is_admin:
        return condition
    if principal.departments is None:
        return and_(condition, or_(Goal.department.is_(None), Goal.department != "hr"))
    return and_(condition, Goal.department.in_(sorted(principal.departments)))


async def get(session: AsyncSession, goal_id: str, *, for_update: bool = False) -> Goal | None:
    statement = select(Goal).where(Goal.id == goal_id)
    if for_update:
        statement = statement.with_for_update()
    goal: Goal | None = await session.scalar(statement)
    return goal


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    after: str | None,
    size: int,
) -> Sequence[Goal]:
    statement = select(Goal).where(visible(principal))
    if brand_id is not None:
        statement = statement.where(Goal.brand_id == brand_id)
    if after is not None:
        statement = statement.where(Goal.id > after)
    return (await session.scalars(statement.order_by(Goal.id).limit(size))).all()


async def due_for_evaluation(session: AsyncSession, limit: int) -> Sequence[Goal]:
    """Goals to evaluate, locked; rows another replica holds are skipped (on PostgreSQL)."""
    statement = select(Goal).where(true()).order_by(Goal.evaluated_at.nulls_first(), Goal.id)
    statement = statement.limit(limit).with_for_update(skip_locked=True)
    return (await session.scalars(statement)).all()
