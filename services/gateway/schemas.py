"""HTTP models of the gateway's own API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Scope

DEPARTMENTS = ("marketing", "customer_service", "sales", "pr", "corporate_comms", "hr", "legal")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "CRM sync (customer service)",
                    "scopes": ["cases:read", "replies:write"],
                    "departments": ["customer_service"],
                    "rate_limit_per_minute": 600,
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)
    departments: list[str] | None = Field(
        default=None, description="Limit the key to these departments; omit for all."
    )
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    scopes: list[str]
    departments: list[str] | None
    rate_limit_per_minute: int
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once: only its hash is stored.")


class ApiKeyPage(BaseModel):
    items: list[ApiKeyRead]
    next_cursor: str | None = None
