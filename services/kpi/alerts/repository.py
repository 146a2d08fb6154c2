"""Every query of the alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.alerts.models import AlertDetectorState, AlertRecord
from shared.auth import brand_condition


async def lock_state(session: AsyncSession, brand_id: str, scope: str) -> AlertDetectorState:
    """The detector's state row, created if new, locked until the transaction ends."""
    query = (
        select(AlertDetectorState)
        .where(AlertDetectorState.brand_id == brand_id, AlertDetectorState.scope == scope)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = await session.scalar(query)
    if row is not None:
        return row
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    await session.execute(
        insert(AlertDetectorState)
        .values(brand_id=brand_id, scope=scope, state={})
        .on_conflict_do_nothing()
    )
    row = await session.scalar(query)
    assert row is not None
    return row


async def states_to_check(session: AsyncSession, limit: int = 500) -> Sequence[AlertDetectorState]:
    """Detector states, locked; those another replica is checking are skipped (SKIP LOCKED),
    so each is checked by one of them."""
    query = (
        select(AlertDetectorState)
        .order_by(AlertDetectorState.brand_id, AlertDetectorState.scope)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def get_alert(session: AsyncSession, alert_id: str) -> AlertRecord | None:
    return await session.get(AlertRecord, alert_id)


def add_alert(session: AsyncSession, record: AlertRecord) -> None:
    session.add(record)


async def list_alerts(
    session: AsyncSession,
    *,
    brand_id: str | None,
    brands: frozenset[str] | None,
    status: str | None,
    departments: ColumnElement[bool] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[AlertRecord]:
    query = select(AlertRecord).where(brand_condition(AlertRecord.brand_id, brands))
    if brand_id is not None:
        query = query.where(AlertRecord.brand_id == brand_id)
    if status is not None:
        query = query.where(AlertRecord.status == status)
    if departments is not None:
        query = query.where(departments)
    if after is not None:
        raised_at, last_id = after
        query = query.where(
            or_(
                AlertRecord.raised_at < raised_at,
                and_(AlertRecord.raised_at == raised_at, AlertRecord.id > last_id),
            )
        )
    return (
        await session.scalars(
            query.order_by(AlertRecord.raised_at.desc(), AlertRecord.id).limit(limit)
        )
    ).all()


def department_condition(visible: list[str] | None, hide_hr: bool) -> ColumnElement[bool]:
    """Alerts without a department (crisis), and those of the departments a key may see."""
    column = AlertRecord.department
    if visible is not None:
        return or_(column.is_(None), column.in_(sorted(visible)))
    if hide_hr:
        return or_(column.is_(None), column != "hr")
    return true()


def values_of(record: AlertRecord) -> dict[str, Any]:
    return {column.key: getattr(record, column.key) for column in AlertRecord.__table__.columns}
