"""Interactions as stored: one by id, and the search with its keyset cursor."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import repository
from services.ingest.exceptions import InteractionNotFoundError
from services.ingest.models import InteractionRecord
from services.ingest.schemas import InteractionPage
from shared.auth import Principal, ensure_brand_visible
from shared.errors import BadRequestError
from shared.events.interactions import Channel, Interaction
from shared.limits import unstorable_text
from shared.pagination import fetch_size


def to_interaction(record: InteractionRecord) -> Interaction:
    return Interaction.model_validate(record.document)


async def get_interaction(
    session: AsyncSession, interaction_id: str, principal: Principal
) -> Interaction:
    """The interaction, or 404 when it is missing or of a brand the key may not see."""
    missing = InteractionNotFoundError(f"no interaction with id {interaction_id}")
    record = await repository.get_interaction(session, interaction_id)
    if record is None:
        raise missing
    ensure_brand_visible(principal, record.brand_id, missing)
    return to_interaction(record)


async def search_interactions(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    channel: Channel | None,
    external_id: str | None,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> InteractionPage:
    """Newest first, of the brands the key may see."""
    rows = await repository.search_interactions(
        session,
        brands=principal.brands,
        brand_id=brand_id,
        channel=channel.value if channel else None,
        external_id=external_id,
        since=since,
        limit=fetch_size(limit),
        cursor=decode_cursor(cursor) if cursor else None,
    )
    return InteractionPage.from_rows(
        rows,
        limit,
        item=to_interaction,
        cursor=lambda row: encode_cursor(row.received_at, row.id),
    )


def encode_cursor(received_at: datetime, interaction_id: str) -> str:
    raw = f"{received_at.isoformat()}|{interaction_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        received, interaction_id = base64.urlsafe_b64decode(cursor).decode().split("|", 1)
        position = datetime.fromisoformat(received)
    except (ValueError, binascii.Error) as exc:
        raise BadRequestError("the cursor is not one this API issued", field="cursor") from exc
    # Only what encode_cursor writes: an aware time and an id PostgreSQL can compare.
    if position.tzinfo is None or unstorable_text(interaction_id) is not None:
        raise BadRequestError("the cursor is not one this API issued", field="cursor")
    return position, interaction_id
