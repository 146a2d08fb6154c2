"""Every query of the gateway."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import ApiKey


async def get_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    result: ApiKey | None = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    return result


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_page(session: AsyncSession, *, limit: int, after_id: str | None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id).limit(limit)
    if after_id:
        query = query.where(ApiKey.id > after_id)
    return list((await session.scalars(query)).all())


async def has_active_admin(session: AsyncSession) -> bool:
    for key in (await session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))).all():
        if "admin" in key.scopes:
            return True
    return False


def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)


def revoke(key: ApiKey, at: datetime) -> None:
    key.revoked_at = at
