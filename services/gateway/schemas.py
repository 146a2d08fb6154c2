"""HTTP models of the gateway's own API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
                {
                    "name": "Ana's console key (reviewer, PR)",
                    "scopes": ["cases:read", "replies:write", "replies:approve"],
                    "brands": ["acme"],
                    "member_id": "5f1c7a52-0b7e-4d0c-9a51-2d6c4c1f8e10",
                    "member_brand_id": "acme",
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
    member_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=36,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description=(
            "Bind the key to this team member (routing's member id): a personal key, such as "
            "the console's or an agent desktop's. Replies drafted with it are that member's "
            "own; approvals are made as that member. Needs `member_brand_id`."
        ),
    )
    member_brand_id: BrandId | None = Field(
        default=None, description="The brand of the bound member; needs `member_id`."
    )
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _member_with_brand(self) -> Self:
        if (self.member_id is None) != (self.member_brand_id is None):
            raise ValueError("member_id and member_brand_id go together")
        return self


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    scopes: list[str]
    departments: list[str] | None
    brands: list[str] | None = None
    member_id: str | None = None
    member_brand_id: str | None = None
    rate_limit_per_minute: int
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once: only its hash is stored.")


class ApiKeyPage(CursorPage[ApiKeyRead]):
    pass
