"""Every query of ingest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import (
    Connection,
    DeliveryKey,
    IdempotentResponse,
    InteractionRecord,
    RawPayload,
)
from shared.auth import brand_condition

INTERACTIONS = cast(Table, InteractionRecord.__table__)
DELIVERY_KEYS = cast(Table, DeliveryKey.__table__)
RAW_PAYLOADS = cast(Table, RawPayload.__table__)
# (source, external id, dedupe key): what one delivery of one change is deduplicated on.
DeliveryKeyValues = tuple[str, str, str]


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


async def purge_expired(
    session: AsyncSession, *, now: datetime, idempotent_before: datetime
) -> None:
    await session.execute(delete(RawPayload).where(RawPayload.expires_at < now))
    await session.execute(
        delete(IdempotentResponse).where(IdempotentResponse.created_at < idempotent_before)
    )


# ------------------------------------------------------------------ the pipeline's bulk writes
# A fixed number of statements per batch, whatever its size (see pipeline/batch.py).


async def claim_delivery_keys(
    session: AsyncSession, keys: Sequence[DeliveryKeyValues]
) -> set[DeliveryKeyValues]:
    """Insert the keys not stored yet; return those this call inserted (first deliveries)."""
    if not keys:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        table = DELIVERY_KEYS
        statement = (
            pg_insert(table)
            .from_select(
                ["source", "external_id", "change_kind"],
                select(
                    func.unnest(bindparam("sources", type_=ARRAY(String))),
                    func.unnest(bindparam("external_ids", type_=ARRAY(String))),
                    func.unnest(bindparam("kinds", type_=ARRAY(String))),
                ),
            )
            .on_conflict_do_nothing()
            .returning(table.c.source, table.c.external_id, table.c.change_kind)
        )
        rows = await session.execute(
            statement,
            {
                "sources": [key[0] for key in keys],
                "external_ids": [key[1] for key in keys],
                "kinds": [key[2] for key in keys],
            },
        )
        return {(row[0], row[1], row[2]) for row in rows}
    claimed = set()
    for source, external_id, kind in keys:
        result = await session.execute(
            sqlite_insert(DeliveryKey)
            .values(source=source, external_id=external_id, change_kind=kind)
            .on_conflict_do_nothing()
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.add((source, external_id, kind))
    return claimed


async def known_interactions(
    session: AsyncSession, *, brands: list[str], external_ids: list[str]
) -> list[tuple[str, str, str, str, str]]:
    """(id, brand, channel, external id, thread key) of the stored interactions of these
    brands with these external ids."""
    if not external_ids:
        return []
    rows = await session.execute(
        select(
            InteractionRecord.id,
            InteractionRecord.brand_id,
            InteractionRecord.channel,
            InteractionRecord.external_id,
            InteractionRecord.thread_key,
        ).where(
            InteractionRecord.brand_id.in_(brands),
            InteractionRecord.external_id.in_(external_ids),
        )
    )
    return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]


async def insert_interactions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(INTERACTIONS), rows)


async def update_interactions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """New kind and document for each `record_id` (an edit brings a deleted item back)."""
    if rows:
        table = INTERACTIONS
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("record_id"))
            .values(kind=bindparam("kind"), document=bindparam("document"), deleted_at=None),
            rows,
        )


async def mark_interactions_deleted(
    session: AsyncSession, interaction_ids: list[str], *, now: datetime
) -> None:
    if interaction_ids:
        table = INTERACTIONS
        await session.execute(
            update(table).where(table.c.id.in_(interaction_ids)).values(deleted_at=now)
        )


async def insert_raw_payloads(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(RAW_PAYLOADS), rows)
