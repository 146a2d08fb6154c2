"""Platform webhooks, once their signature checked: the event that hands the verified bytes to
ingest's workers (publishing it is the route's, as the answer waits on Kafka)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.ingest.pipeline import SOURCE
from services.ingest.platforms.base import PayloadError, load_payload
from services.ingest.service.connections import CachedConnection
from shared.errors import BadRequestError
from shared.events.envelope import Envelope
from shared.events.ingest import WebhookReceived


def webhook_received(cached: CachedConnection, body: bytes) -> Envelope:
    """The event for a verified body; 400 when it is not a JSON object (the sender's error,
    not the workers' problem)."""
    try:
        load_payload(body)
    except PayloadError as exc:
        raise BadRequestError(str(exc), field="body") from exc
    return Envelope(
        type="ingest.webhook_received",
        source=SOURCE,
        key=cached.id,
        # Built from values checked above: no validation pass needed.
        data=WebhookReceived.model_construct(
            connection_id=cached.id,
            platform=cached.platform,
            received_at=datetime.now(UTC),
            body=body,  # the verified bytes, the record's value as they are
            brand_id=cached.brand_id,
            default_lang=cached.default_lang,
            account_ids=cached.account_ids,
        ),
    )
