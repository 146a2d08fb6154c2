"""Kafka handlers of the reply workflow: the send's outcome from ingest (`socialcare.sends`) and
the platforms' delivery reports (`socialcare.interactions`: WhatsApp statuses, Messenger and
Instagram receipts). Thin: envelope → service, inside the
consumer runner's transaction (which dedupes on the event id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import bus_tables
from services.routing.replies import service
from shared.bus.consumer import BatchHandler
from shared.events.envelope import Envelope
from shared.events.interactions import DeliveryStatus
from shared.events.sends import SendCompleted, SendFailed

SENDS_GROUP = "routing-sends"


async def sends_completed(session: AsyncSession, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        if isinstance(envelope.data, SendCompleted):
            await service.record_sent(session, bus_tables, envelope.data)


async def sends_failed(session: AsyncSession, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        if isinstance(envelope.data, SendFailed):
            await service.record_failed(session, bus_tables, envelope.data)


async def delivery_reports(session: AsyncSession, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        if isinstance(envelope.data, DeliveryStatus):
            await service.record_delivery(session, envelope.data)


def send_handlers() -> dict[str, BatchHandler]:
    return {"send.completed": sends_completed, "send.failed": sends_failed}


def delivery_handlers() -> dict[str, BatchHandler]:
    return {"interaction.delivery_status": delivery_reports}
