"""HTTP models of webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.limits import InputModel
from shared.pagination import CursorPage

ENDPOINT_EXAMPLE: dict[str, Any] = {
    "url": "https://crm.example.com/hooks/socialcare",
    "description": "CRM: casos y alertas / CRM: cases and alerts",
    "event_types": ["case.*", "alert.raised"],
    "brand_ids": ["acme"],
}
BrandIds = list[str]


class EndpointCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ENDPOINT_EXAMPLE]})

    url: str = Field(min_length=1, max_length=2048, description="https:// (or http://) URL")
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(
        min_length=1,
        max_length=100,
        description="Exact types (`reply.sent`), prefixes (`case.*`) or `*`; "
        "see GET /v1/webhook-event-types",
    )
    brand_ids: BrandIds | None = Field(
        default=None,
        max_length=100,
        description="Only these brands' events (default: every brand the API key may see)",
    )
    enabled: bool = True
    rate_limit_per_second: int | None = Field(
        default=None, ge=1, le=10000, description="At most this many deliveries a second"
    )


class EndpointUpdate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"event_types": ["case.*", "alert.raised"], "enabled": True}]
        },
    )

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    brand_ids: BrandIds | None = Field(default=None, max_length=100)
    enabled: bool | None = None
    rate_limit_per_second: int | None = Field(default=None, ge=1, le=10000)


class EndpointRead(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str]
    brand_ids: list[str] | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="`failing` (every delivery failed for days), `gone` (410), or `manual`"
    )
    rate_limit_per_second: int | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="While set, the previous secret signs too (a rotation's overlap)"
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointRead):
    secret: str = Field(description="The signing secret (`whsec_...`): shown only this once")


class EndpointPage(CursorPage[EndpointRead]):
    pass


class SecretRotation(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"overlap_seconds": 3600}]}
    )

    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="How long the previous secret keeps signing (default: the service's, 24 h)",
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret: shown only this once")
    previous_secret_expires_at: datetime | None


class AttemptRead(BaseModel):
    id: int
    started_at: datetime
    status_code: int | None
    succeeded: bool
    latency_ms: float
    error: str | None
    response_excerpt: str | None = Field(description="The first KiB of the response body")


class DeliveryRead(BaseModel):
    id: str
    endpoint_id: str
    event_id: str = Field(description="Also the `webhook-id` header of every attempt")
    event_type: str
    status: str = Field(description="`pending`, `succeeded` or `failed`")
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    succeeded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(DeliveryRead):
    attempts: list[AttemptRead]


class DeliveryPage(CursorPage[DeliveryRead]):
    pass


class ReplayRequest(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"since": "2026-12-01T08:00:00Z", "until": "2026-12-01T10:00:00Z"}]
        },
    )

    since: AwareDatetime
    until: AwareDatetime
    event_types: list[str] | None = Field(
        default=None, max_length=100, description="Narrower than the endpoint's filter"
    )


class ReplayAccepted(BaseModel):
    scheduled: int = Field(description="Deliveries scheduled again (same webhook-id as before)")


class PingResult(BaseModel):
    succeeded: bool
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None


class EventTypeRead(BaseModel):
    type: str
    topic: str
    payload: str = Field(description="The payload model's name (the `data` of the body)")


class EventTypeList(BaseModel):
    items: list[EventTypeRead]
