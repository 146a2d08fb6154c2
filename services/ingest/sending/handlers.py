"""The `ingest-sends` consumer: `send.requested` becomes a row of the sends table (once per
send_id, in the consumer runner's transaction); the worker takes it from there."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.sending import service
from shared.bus.consumer import Handler
from shared.events.envelope import Envelope
from shared.events.sends import SendRequested


def build_send_handlers(wake: Callable[[], None]) -> dict[str, Handler]:
    async def send_requested(session: AsyncSession, envelope: Envelope) -> None:
        data = envelope.data
        assert isinstance(data, SendRequested)
        if await service.accept_request(session, envelope.id, data):
            wake()

    return {"send.requested": send_requested}
