"""Webhooks' Kafka handlers: every deliverable event becomes one delivery per matching endpoint.

Runs in the consumer runner's transaction (exactly once per event id): the event's body is
built and stored once, and a pending delivery row is added for each endpoint whose filter,
brands and owner key admit it; the dispatcher takes it from there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.webhooks import repository
from services.webhooks.delivery.directory import EndpointDirectory
from services.webhooks.filters import audience_of, deliverable_types
from services.webhooks.signing import event_body
from shared.bus.consumer import BatchHandler
from shared.events.envelope import Envelope
from shared.ids import random_uuid


async def fan_out(
    session: AsyncSession, envelopes: list[Envelope], directory: EndpointDirectory
) -> int:
    """Store the events some endpoint wants and their deliveries; the number of deliveries.
    The endpoints are those committed when this transaction reads them, so an endpoint
    created (on any replica) before the event was published gets it."""
    views = await directory.current(session)
    if not views:
        return 0
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for envelope in envelopes:
        audience = audience_of(envelope.type, envelope.key, envelope.data)
        wanted = [view.id for view in views.values() if view.wants(envelope.type, audience)]
        if not wanted:
            continue
        events.append(
            {
                "id": envelope.id,
                "type": envelope.type,
                "brand_id": audience.brand_id,
                "department": audience.department,
                "occurred_at": envelope.time.astimezone(UTC),
                "body": event_body(
                    envelope.type, envelope.time, envelope.data.model_dump_json().encode()
                ),
            }
        )
        for endpoint_id in wanted:
            deliveries.append(
                {
                    "id": random_uuid(),
                    "endpoint_id": endpoint_id,
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "status": repository.PENDING,
                    "schedule_step": 0,
                    "generation": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    await repository.add_events(session, events)
    await repository.add_deliveries(session, deliveries)
    return len(deliveries)


def build_batch_handlers(
    directory: Callable[[], EndpointDirectory],
) -> dict[str, BatchHandler]:
    """One batch handler for every deliverable type (the directory exists once started)."""

    async def deliver(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await fan_out(session, envelopes, directory())

    return dict.fromkeys(deliverable_types(), deliver)
