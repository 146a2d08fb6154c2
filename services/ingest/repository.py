"""Every query of ingest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import (
    Connection,
    IdempotentResponse,
    InteractionRecord,
    RawPayload,
)
from shared.auth import brand_condition


async def get_connection(session: AsyncSession, connection_id: str) -> Connection | None:
    return await session.get(Connection, connection_id)


async def get_connections(session: AsyncSession, ids: set[str]) -> dict[str, Connection]:
    if not ids:
        return {}
    rows = await session.scalars(select(Connection).where(Connection.id.in_(ids)))
    return {row.id: row for row in rows}


async def list_connections(
    session: AsyncSession,
    *,
    brands: frozenset[str] | None,
    brand_id: str | None,
    limit: int,
    after_id: str | None,
) -> list[Connection]:
    query = (
        select(Connection)
        .where(brand_condition(Connection.brand_id, brands))
        .order_by(Connection.id)
        .limit(limit)
    )
    if brand_id:
        query = query.where(Connection.brand_id == brand_id)
    if after_id:
        query = query.where(Connection.id > after_id)
    return list((await session.scalars(query)).all())


async def delete_connection(session: AsyncSession, connection: Connection) -> None:
    await session.delete(connection)


async def get_interaction(session: AsyncSession, interaction_id: str) -> InteractionRecord | None:
    return await session.get(InteractionRecord, interaction_id)


async def search_interactions(
    session: AsyncSession,
    *,
    brands: frozenset[str] | None,
    brand_id: str | None,
    channel: str | None,
    external_id: str | None,
    since: datetime | None,
    limit: int,
    cursor: tuple[datetime, str] | None,
) -> list[InteractionRecord]:
    """Newest first, keyset-paginated on (received_at, id)."""
    query = (
        select(InteractionRecord)
        .where(brand_condition(InteractionRecord.brand_id, brands))
        .order_by(InteractionRecord.received_at.desc(), InteractionRecord.id.desc())
    )
    if brand_id:
        query = query.where(InteractionRecord.brand_id == brand_id)
    if channel:
        query = query.where(InteractionRecord.channel == channel)
    if external_id:
        query = query.where(InteractionRecord.external_id == external_id)
    if since:
        query = query.where(InteractionRecord.received_at >= since)
    if cursor:
        received_at, last_id = cursor
        query = query.where(
            (InteractionRecord.received_at < received_at)
            | ((InteractionRecord.received_at == received_at) & (InteractionRecord.id < last_id))
        )
    return list((await session.scalars(query.limit(limit))).all())


def add(session: AsyncSession, row: object) -> None:
    session.add(row)


async def get_idempotent(session: AsyncSession, owner: str, key: str) -> IdempotentResponse | None:
    return await session.get(IdempotentResponse, (owner, key))


async def purge_expired(
    session: AsyncSession, *, now: datetime, idempotent_before: datetime
) -> None:
    await session.execute(delete(RawPayload).where(RawPayload.expires_at < now))
    await session.execute(
        delete(IdempotentResponse).where(IdempotentResponse.created_at < idempotent_before)
    )
