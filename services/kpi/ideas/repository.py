"""Every query of the ideas."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.fans.models import FanProfile
from services.kpi.ideas.models import IdeaItem
from services.kpi.rollups.contributions import IdeaCounted
from shared.auth import brand_condition


async def upsert_idea(session: AsyncSession, values: dict[str, Any]) -> None:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(IdeaItem).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[IdeaItem.interaction_id],
            set_={
                name: statement.excluded[name]
                for name in values
                if name not in ("interaction_id", "brand_id")
            },
        )
    )


async def delete_idea(session: AsyncSession, interaction_id: str) -> IdeaCounted | None:
    """Delete the idea; what it counted for in the rollups, if there was one."""
    row = (
        await session.execute(
            delete(IdeaItem)
            .where(IdeaItem.interaction_id == interaction_id)
            .returning(IdeaItem.brand_id, IdeaItem.channel, IdeaItem.created_at)
        )
    ).first()
    return None if row is None else IdeaCounted(*row)


async def counted_idea(session: AsyncSession, interaction_id: str) -> IdeaCounted | None:
    """What the stored idea counts for in the rollups (locked: it is about to change)."""
    row = (
        await session.execute(
            select(IdeaItem.brand_id, IdeaItem.channel, IdeaItem.created_at)
            .where(IdeaItem.interaction_id == interaction_id)
            .with_for_update()
        )
    ).first()
    return None if row is None else IdeaCounted(*row)


async def ideas_between(
    session: AsyncSession,
    *,
    brand_id: str,
    brands: frozenset[str] | None,
    start: datetime,
    end: datetime,
    limit: int,
) -> Sequence[IdeaItem]:
    """The newest `limit` ideas of the brand in [start, end)."""
    return (
        await session.scalars(
            select(IdeaItem)
            .where(
                IdeaItem.brand_id == brand_id,
                brand_condition(IdeaItem.brand_id, brands),
                IdeaItem.created_at >= start,
                IdeaItem.created_at < end,
            )
            .order_by(IdeaItem.created_at.desc(), IdeaItem.interaction_id)
            .limit(limit)
        )
    ).all()


async def handles(session: AsyncSession, profile_ids: set[str]) -> dict[str, str | None]:
    if not profile_ids:
        return {}
    rows = await session.execute(
        select(FanProfile.id, FanProfile.handle).where(FanProfile.id.in_(sorted(profile_ids)))
    )
    return {profile_id: handle for profile_id, handle in rows.all()}  # noqa: C416
