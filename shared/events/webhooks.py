"""Payloads owned by webhooks: an outbound endpoint turned off by the service itself."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class DisabledReason(StrEnum):
    failing = "failing"  # every delivery failed for the configured period (5 days)
    gone = "gone"  # the receiver answered 410 Gone


class EndpointDisabled(BaseModel):
    """`endpoint.disabled`, on `socialcare.alerts` keyed by the endpoint id: for operators, so
    the integrator can be told; re-enable with PATCH once the receiver is fixed."""

    model_config = ConfigDict(extra="forbid")

    endpoint_id: str
    url: str
    brand_ids: list[str] | None = None
    owner_key_id: str
    reason: DisabledReason
    failing_since: datetime | None = None
    disabled_at: datetime
