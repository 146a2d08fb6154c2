"""Every query of guidelines."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.guidelines.models import GuidelineVersion
from shared.db import advisory_xact_lock


async def latest_version(session: AsyncSession, brand_id: str) -> GuidelineVersion | None:
    result: GuidelineVersion | None = await session.scalar(
        select(GuidelineVersion)
        .where(GuidelineVersion.brand_id == brand_id)
        .order_by(GuidelineVersion.version.desc())
        .limit(1)
    )
    return result


async def get_version(
    session: AsyncSession, brand_id: str, version: int
) -> GuidelineVersion | None:
    result: GuidelineVersion | None = await session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.brand_id == brand_id, GuidelineVersion.version == version
        )
    )
    return result


async def list_versions(
    session: AsyncSession, brand_id: str, *, limit: int, before: int | None
) -> list[GuidelineVersion]:
    query = (
        select(GuidelineVersion)
        .where(GuidelineVersion.brand_id == brand_id)
        .order_by(GuidelineVersion.version.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(GuidelineVersion.version < before)
    return list((await session.scalars(query)).all())


async def next_version_number(session: AsyncSession, brand_id: str) -> int:
    """The brand's next version number. On PostgreSQL, concurrent publishes of one brand wait
    for each other here (a transaction advisory lock, released at commit), so each gets its own
    number instead of colliding on the (brand, version) unique constraint."""
    await advisory_xact_lock(session, f"socialcare.guidelines.publish.{brand_id}")
    current = await session.scalar(
        select(func.max(GuidelineVersion.version)).where(GuidelineVersion.brand_id == brand_id)
    )
    return int(current or 0) + 1


def add(session: AsyncSession, row: object) -> None:
    session.add(row)
