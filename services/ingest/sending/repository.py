"""Every query of the send worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import Connection, Send

REQUESTED = "requested"
IN_FLIGHT = "in_flight"
COMPLETED = "completed"
FAILED = "failed"
UNCERTAIN = "uncertain"


async def get_send(session: AsyncSession, send_id: str, *, lock: bool = False) -> Send | None:
    query = select(Send).where(Send.send_id == send_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


def add_send(session: AsyncSession, send: Send) -> None:
    session.add(send)


async def due_sends(session: AsyncSession, *, now: datetime, limit: int) -> list[Send]:
    """Requested sends whose time has come, oldest first; rows another worker holds are
    skipped (PostgreSQL), so replicas never claim the same send."""
    query = (
        select(Send)
        .where(Send.state == REQUESTED, Send.next_attempt_at <= now)
        .order_by(Send.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def interrupted_sends(session: AsyncSession, *, now: datetime, limit: int) -> list[Send]:
    """In-flight sends whose worker's lease ran out: it stopped in the middle of the call."""
    query = (
        select(Send)
        .where(Send.state == IN_FLIGHT, Send.lease_until < now)
        .order_by(Send.lease_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def get_connections(session: AsyncSession, ids: set[str]) -> dict[str, Connection]:
    if not ids:
        return {}
    rows = await session.scalars(select(Connection).where(Connection.id.in_(ids)))
    return {row.id: row for row in rows}
