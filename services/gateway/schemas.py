"""HTTP models of the gateway's own API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.auth import Scope
from shared.pagination import CursorPage

# The brand id shape every service accepts (ingest's connections and interactions).
BrandId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
]
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
                },
                {
                    "name": "Agent desktop of the Acme brand",
                    "scopes": ["interactions:read", "cases:read", "replies:write"],
                    "brands": ["acme"],
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)
    departments: list[str] | None = Field(
        default=None, description="Limit the key to these departments; omit for all."
    )
    brands: list[BrandId] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description=(
            "Limit the key to these brand ids; omit for every brand. Objects of other brands "
            "answer 404 as if they did not exist, lists leave them out, and creating something "
            "for another brand answers 403. Not allowed with the admin scope."
        ),
        examples=[["acme", "acme-outlet"]],
    )
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    scopes: list[str]
    departments: list[str] | None
    brands: list[str] | None = None
    rate_limit_per_minute: int
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once: only its hash is stored.")


class ApiKeyPage(CursorPage[ApiKeyRead]):
    pass
