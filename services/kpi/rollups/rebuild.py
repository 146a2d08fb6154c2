"""Recompute the rollups from the facts: the same contributions the fold adds, summed afresh.

Run it after changing a KPI definition, or to repair rollups; on PostgreSQL it locks the
rollups for its transaction (consumers wait, then go on from the rebuilt figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts.models import CaseFact, CheckFact, EngagementFact, InteractionFact
from services.kpi.facts.repository import replies_of
from services.kpi.facts.state import INTERACTION_COLUMNS, InteractionRow
from services.kpi.ideas.models import IdeaItem
from services.kpi.rollups import repository
from services.kpi.rollups.contributions import (
    IdeaCounted,
    case_entries,
    check_entries,
    engagement_entries,
    idea_entries,
    interaction_entries,
)
from services.kpi.rollups.measures import Delta
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS

CHUNK = 5000
# Rows are written every this many facts, so memory stays bounded on any history.
FLUSH_EVERY = 50_000


async def _chunks(session: AsyncSession, model: Any, key: Any, brand_id: str | None) -> Any:
    last: str | None = None
    while True:
        statement = select(model).order_by(key).limit(CHUNK)
        if brand_id is not None:
            statement = statement.where(model.brand_id == brand_id)
        if last is not None:
            statement = statement.where(key > last)
        rows: Sequence[Any] = (await session.scalars(statement)).all()
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key.key)
        session.expunge_all()


async def _interaction_chunks(session: AsyncSession, brand_id: str | None) -> Any:
    """Interaction facts as plain rows (the bulk of any history: no mapped objects)."""
    table = InteractionFact.__table__
    assert isinstance(table, Table)
    last: str | None = None
    while True:
        statement = select(*(table.c[name] for name in INTERACTION_COLUMNS)).order_by(table.c.id)
        if brand_id is not None:
            statement = statement.where(table.c.brand_id == brand_id)
        if last is not None:
            statement = statement.where(table.c.id > last)
        rows = (await session.execute(statement.limit(CHUNK))).all()
        if not rows:
            return
        yield [InteractionRow(*row) for row in rows]
        last = rows[-1].id


async def rebuild(session: AsyncSession, brand_id: str | None = None) -> int:
    """Replace the rollups (of one brand, or all) by the sum of the facts' contributions;
    returns how many facts were read. Runs in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        tables = f"{ROLLUPS.fullname}, {ROLLUP_SKETCHES.fullname}"
        await session.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
    await repository.clear(session, brand_id)
    delta = Delta()
    read = 0
    pending = 0

    async def flush_if_full(force: bool = False) -> None:
        nonlocal delta, pending
        if force or pending >= FLUSH_EVERY:
            await repository.apply_delta(session, delta)
            delta, pending = Delta(), 0

    async for states in _interaction_chunks(session, brand_id):
        for state in states:
            delta.add(interaction_entries(state))
        rows = states
        read += len(rows)
        pending += len(rows)
        await flush_if_full()
    async for rows in _chunks(session, EngagementFact, EngagementFact.event_id, brand_id):
        for engagement in rows:
            delta.add(engagement_entries(engagement))
        read += len(rows)
        pending += len(rows)
        await flush_if_full()
    async for rows in _chunks(session, CaseFact, CaseFact.case_id, brand_id):
        replies = await replies_of(session, [case.case_id for case in rows])
        for case in rows:
            delta.add(case_entries(case, replies.get(case.case_id, [])))
        read += len(rows)
        pending += len(rows)
        await flush_if_full()
    units: dict[str, list[CheckFact]] = {}
    async for rows in _chunks(session, CheckFact, CheckFact.check_id, brand_id):
        for check in rows:
            units.setdefault(check.unit_key, []).append(check)
        read += len(rows)
    for checks in units.values():
        delta.add(check_entries(checks))
    async for rows in _chunks(session, IdeaItem, IdeaItem.interaction_id, brand_id):
        for idea in rows:
            delta.add(idea_entries(IdeaCounted(idea.brand_id, idea.channel, idea.created_at)))
        read += len(rows)
    await flush_if_full(force=True)
    return read
