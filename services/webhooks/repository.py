"""Every query of the webhooks service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.webhooks.models import Attempt, Delivery, Endpoint, WebhookEvent

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
DELIVERIES = typed(Table, Delivery.__table__)
ATTEMPTS = typed(Table, Attempt.__table__)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# ------------------------------------------------------------------ endpoints


async def add_endpoint(session: AsyncSession, endpoint: Endpoint) -> None:
    session.add(endpoint)
    await session.flush()


def _visible_to(brands: frozenset[str] | None, postgres: bool) -> ColumnElement[bool]:
    """Endpoints a key limited to `brands` may see: those filtered to some of its brands only."""
    if brands is None:
        return true()
    allowed = sorted(brands)
    if postgres:
        return and_(
            Endpoint.brand_ids.is_not(None),
            cast(Endpoint.brand_ids, JSONB).contained_by(bindparam("allowed", allowed, JSONB)),
        )
    value = column("value", String)
    outside = (
        select(1)
        .select_from(func.json_each(Endpoint.brand_ids).table_valued(value))
        .where(value.not_in(allowed))
    )
    return and_(Endpoint.brand_ids.is_not(None), ~exists(outside))


async def get_endpoint(
    session: AsyncSession, endpoint_id: str, brands: frozenset[str] | None, *, lock: bool = False
) -> Endpoint | None:
    statement = select(Endpoint).where(
        Endpoint.id == endpoint_id, _visible_to(brands, _is_postgres(session))
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def list_endpoints(
    session: AsyncSession, brands: frozenset[str] | None, *, after: str | None, limit: int
) -> Sequence[Endpoint]:
    statement = select(Endpoint).where(_visible_to(brands, _is_postgres(session)))
    if after is not None:
        statement = statement.where(Endpoint.id > after)
    return (await session.scalars(statement.order_by(Endpoint.id).limit(limit))).all()


async def enabled_endpoints(session: AsyncSession) -> Sequence[Endpoint]:
    return (await session.scalars(select(Endpoint).where(Endpoint.enabled))).all()


async def all_endpoints(session: AsyncSession) -> Sequence[Endpoint]:
    return (await session.scalars(select(Endpoint))).all()


async def enabled_endpoint_stamps(session: AsyncSession) -> dict[str, datetime]:
    """`{id: updated_at}` of the enabled endpoints: every change to one moves its stamp."""
    rows = await session.execute(select(Endpoint.id, Endpoint.updated_at).where(Endpoint.enabled))
    return dict(rows.all())


async def delete_endpoint(session: AsyncSession, endpoint: Endpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


@dataclass(frozen=True, slots=True)
class DisabledEndpoint:
    id: str
    url: str
    brand_ids: list[str] | None
    owner_key_id: str
    failing_since: datetime | None


async def mark_endpoint_health(
    session: AsyncSession, *, succeeded: Sequence[str], failed: Sequence[str], now: datetime
) -> None:
    """A success ends an endpoint's failing streak; a failure starts one if none is running."""
    if succeeded:
        await session.execute(
            update(Endpoint)
            .where(Endpoint.id.in_(succeeded), Endpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if failed:
        await session.execute(
            update(Endpoint)
            .where(Endpoint.id.in_(failed), Endpoint.failing_since.is_(None))
            .values(failing_since=now)
        )


async def disable_endpoints(
    session: AsyncSession,
    ids: Sequence[str],
    *,
    reason: str,
    now: datetime,
    failing_before: datetime | None = None,
) -> list[DisabledEndpoint]:
    """Disable the enabled endpoints among `ids` (only those failing since before
    `failing_before`, when given); return those this call disabled."""
    if not ids:
        return []
    conditions = [Endpoint.id.in_(ids), Endpoint.enabled]
    if failing_before is not None:
        conditions.append(Endpoint.failing_since <= failing_before)
    rows = await session.execute(
        update(Endpoint)
        .where(*conditions)
        .values(enabled=False, disabled_reason=reason, updated_at=now)
        .returning(
            Endpoint.id,
            Endpoint.url,
            Endpoint.brand_ids,
            Endpoint.owner_key_id,
            Endpoint.failing_since,
        )
    )
    return [DisabledEndpoint(*row) for row in rows.all()]


# ------------------------------------------------------------------ events and deliveries


async def add_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = postgresql.insert if _is_postgres(session) else sqlite.insert
    await session.execute(insert(WebhookEvent).on_conflict_do_nothing(), rows)


async def add_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = postgresql.insert if _is_postgres(session) else sqlite.insert
    await session.execute(insert(Delivery).on_conflict_do_nothing(), rows)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    endpoint_id: str
    event_id: str
    schedule_step: int
    generation: int
    body: bytes


async def claim_due(
    session: AsyncSession,
    slots: Mapping[str, int],
    *,
    total: int,
    now: datetime,
    lease_until: datetime,
) -> list[Claimed]:
    """Claim due pending deliveries, at most `slots[endpoint]` of each endpoint and `total` in
    all, oldest first. On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so
    replicas claiming at once never take the same row; a claim moves `next_attempt_at` to the
    end of the lease, after which an attempt that never reported back is due again."""
    if not slots or total <= 0:
        return []
    delivery = DELIVERIES
    if _is_postgres(session):
        wanted = (
            func.unnest(
                bindparam("endpoint_ids", list(slots), type_=ARRAY(String)),
                bindparam("slot_counts", list(slots.values()), type_=ARRAY(Integer)),
            )
            .table_valued(column("endpoint_id", String), column("slots", Integer))
            .render_derived(name="wanted")
        )
        due = (
            select(delivery.c.id)
            .where(
                delivery.c.endpoint_id == wanted.c.endpoint_id,
                delivery.c.status == PENDING,
                delivery.c.next_attempt_at <= now,
            )
            .order_by(delivery.c.next_attempt_at)
            .limit(wanted.c.slots)
            .with_for_update(skip_locked=True)
            .lateral("due")
        )
        picked = select(due.c.id).select_from(wanted.join(due, true())).limit(total)
        ids: list[str] = list((await session.scalars(picked)).all())
    else:
        ids = []
        for endpoint_id, count in slots.items():
            if len(ids) >= total:
                break
            found = await session.scalars(
                select(delivery.c.id)
                .where(
                    delivery.c.endpoint_id == endpoint_id,
                    delivery.c.status == PENDING,
                    delivery.c.next_attempt_at <= now,
                )
                .order_by(delivery.c.next_attempt_at)
                .limit(min(count, total - len(ids)))
            )
            ids.extend(found.all())
    if not ids:
        return []
    rows = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.event_id == WebhookEvent.id)
        .values(next_attempt_at=lease_until, generation=Delivery.generation + 1, updated_at=now)
        .returning(
            Delivery.id,
            Delivery.endpoint_id,
            Delivery.event_id,
            Delivery.schedule_step,
            Delivery.generation,
            WebhookEvent.body,
        )
    )
    return [Claimed(*row) for row in rows.all()]


async def finish_deliveries(session: AsyncSession, outcomes: list[dict[str, Any]]) -> None:
    """Write attempts' outcomes: each row only while the delivery holds its claim's generation.
    Keys: b_id, b_generation, status, next_attempt_at, schedule_step, last_status_code,
    last_error, succeeded_at, updated_at."""
    if not outcomes:
        return
    table = DELIVERIES
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.generation == bindparam("b_generation"))
        .values(
            status=bindparam("status"),
            next_attempt_at=bindparam("next_attempt_at"),
            schedule_step=bindparam("schedule_step"),
            last_status_code=bindparam("last_status_code"),
            last_error=bindparam("last_error"),
            succeeded_at=bindparam("succeeded_at"),
            updated_at=bindparam("updated_at"),
        )
        .execution_options(synchronize_session=False),
        outcomes,
    )


async def add_attempts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(ATTEMPTS.insert(), rows)


async def release_claims(
    session: AsyncSession, claims: Sequence[tuple[str, int]], now: datetime
) -> None:
    """Hand claimed deliveries back (due now) when their attempts were cut short."""
    table = DELIVERIES
    if claims:
        await session.execute(
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.generation == bindparam("b_generation"),
                table.c.status == PENDING,
            )
            .values(next_attempt_at=now),
            [{"b_id": delivery_id, "b_generation": gen} for delivery_id, gen in claims],
        )


async def get_delivery(
    session: AsyncSession, endpoint_id: str, delivery_id: str
) -> Delivery | None:
    return (
        await session.scalars(
            select(Delivery).where(Delivery.id == delivery_id, Delivery.endpoint_id == endpoint_id)
        )
    ).first()


async def list_deliveries(
    session: AsyncSession,
    endpoint_id: str,
    *,
    status: str | None,
    event_type: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Delivery]:
    statement = select(Delivery).where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if event_type is not None:
        statement = statement.where(Delivery.event_type == event_type)
    if before is not None:
        created, delivery_id = before
        statement = statement.where(
            or_(
                Delivery.created_at < created,
                and_(Delivery.created_at == created, Delivery.id < delivery_id),
            )
        )
    statement = statement.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit)
    return (await session.scalars(statement)).all()


async def attempts_of(session: AsyncSession, delivery_id: str, limit: int) -> Sequence[Attempt]:
    return (
        await session.scalars(
            select(Attempt)
            .where(Attempt.delivery_id == delivery_id)
            .order_by(Attempt.id.desc())
            .limit(limit)
        )
    ).all()


async def reschedule(session: AsyncSession, delivery: Delivery, now: datetime) -> None:
    """Due now, with a fresh schedule; an attempt in flight no longer writes its outcome."""
    delivery.status = PENDING
    delivery.schedule_step = 0
    delivery.generation += 1
    delivery.next_attempt_at = now
    delivery.updated_at = now
    await session.flush()


async def events_between(
    session: AsyncSession, since: datetime, until: datetime, limit: int
) -> Sequence[WebhookEvent]:
    return (
        await session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.occurred_at >= since, WebhookEvent.occurred_at < until)
            .order_by(WebhookEvent.occurred_at)
            .limit(limit)
        )
    ).all()


async def reschedule_events(
    session: AsyncSession,
    endpoint_id: str,
    events: Sequence[WebhookEvent],
    now: datetime,
    new_ids: Sequence[str],
) -> None:
    """Due now with a fresh schedule for each event (a new delivery where there was none)."""
    if not events:
        return
    rows = [
        {
            "id": delivery_id,
            "endpoint_id": endpoint_id,
            "event_id": event.id,
            "event_type": event.type,
            "status": PENDING,
            "schedule_step": 0,
            "generation": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for delivery_id, event in zip(new_ids, events, strict=True)
    ]
    table = DELIVERIES
    insert = postgresql.insert if _is_postgres(session) else sqlite.insert
    statement = insert(table)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.endpoint_id, table.c.event_id],
            set_={
                "status": excluded.status,
                "schedule_step": 0,
                "generation": table.c.generation + 1,
                "next_attempt_at": excluded.next_attempt_at,
                "updated_at": excluded.updated_at,
            },
        ),
        rows,
    )
