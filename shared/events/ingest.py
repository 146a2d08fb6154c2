"""Ingest's internal events: what its web tier hands to its workers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class WebhookReceived(BaseModel):
    """A platform webhook whose signature checked, kept as received for the workers to parse,
    deduplicate, enrich and store. Keyed by connection, so one connection stays in order."""

    connection_id: str
    platform: str
    received_at: datetime
    body: str
