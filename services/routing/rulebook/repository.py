"""Every query of the stored routing rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import Rule
from services.routing.rules import RuleSpec
from services.routing.team.repository import department_condition
from shared.auth import Principal, brand_condition
from shared.ids import random_uuid


def rule_condition(principal: Principal) -> ColumnElement[bool]:
    """Rules the key may see: of its brands, and brand-wide (no department) or of a department
    it may see (HR's only for keys that may see HR)."""
    return and_(
        brand_condition(Rule.brand_id, principal.brands),
        or_(Rule.department.is_(None), department_condition(Rule.department, principal)),
    )


def rule_values(spec: RuleSpec) -> dict[str, object]:
    """The columns a spec sets."""
    return {
        "position": spec.position,
        "name": spec.name,
        "department": spec.actions.department,
        "enabled": spec.enabled,
        "stop": spec.stop,
        "conditions": spec.conditions.model_dump(mode="json", exclude_none=True),
        "actions": spec.actions.model_dump(mode="json", exclude_defaults=True),
    }


async def insert_default_rules(
    session: AsyncSession, brand_id: str, specs: Sequence[RuleSpec], at: datetime
) -> None:
    session.add_all(
        Rule(
            id=random_uuid(),
            brand_id=brand_id,
            version=1,
            created_at=at,
            updated_at=at,
            **rule_values(spec),
        )
        for spec in specs
    )
    await session.flush()


async def list_rules(
    session: AsyncSession,
    principal: Principal,
    brand_id: str,
    *,
    limit: int,
    after: tuple[int, str] | None,
) -> list[Rule]:
    query = (
        select(Rule)
        .where(Rule.brand_id == brand_id, rule_condition(principal))
        .order_by(Rule.position, Rule.id)
        .limit(limit)
    )
    if after is not None:
        position, rule_id = after
        query = query.where(
            or_(Rule.position > position, and_(Rule.position == position, Rule.id > rule_id))
        )
    return list((await session.scalars(query)).all())


async def brand_rules(session: AsyncSession, brand_id: str) -> list[Rule]:
    rows = await session.scalars(
        select(Rule).where(Rule.brand_id == brand_id).order_by(Rule.position, Rule.id)
    )
    return list(rows.all())


async def visible_rule_ids(session: AsyncSession, principal: Principal, brand_id: str) -> set[str]:
    rows = await session.scalars(
        select(Rule.id).where(Rule.brand_id == brand_id, rule_condition(principal))
    )
    return set(rows.all())


async def get_rule(session: AsyncSession, rule_id: str, principal: Principal) -> Rule | None:
    rule: Rule | None = await session.scalar(
        select(Rule).where(Rule.id == rule_id, rule_condition(principal))
    )
    return rule


async def delete_rule(session: AsyncSession, rule: Rule) -> None:
    await session.delete(rule)
