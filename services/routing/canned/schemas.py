"""HTTP models of canned replies and of a case's suggestions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.routing.guidelines_client import Violation
from services.routing.intents import Intent
from shared.limits import InputModel
from shared.pagination import CursorPage

CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,39}$"
DEPARTMENT_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_TEXT = 4000  # longer than any channel takes (the check says what the channel allows)

BrandId = Annotated[str, Field(min_length=1, max_length=100)]
Code = Annotated[
    str, Field(pattern=CODE_PATTERN, description="Short code, unique per brand and language")
]
Department = Annotated[str, Field(min_length=1, max_length=40, pattern=DEPARTMENT_PATTERN)]


class Language(StrEnum):
    es = "es"
    en = "en"


class CheckStatus(StrEnum):
    passed = "passed"  # checked, no warning
    warnings = "warnings"  # checked, warnings stored
    unchecked = "unchecked"  # the brand had no guideline when it was saved


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


CREATE_EXAMPLE: dict[str, Any] = {
    "brand_id": "acme",
    "lang": "es",
    "code": "retraso-pedido",
    "title": "Retraso en un pedido",
    "text": "Hola {{customer_name}}, sentimos mucho el retraso del pedido {{order_id}}. "
    "Lo estamos revisando y le escribimos hoy mismo. Un saludo, {{agent_name}}.",
    "intents": ["complaint", "service_request"],
    "department": "customer_service",
}


class CannedReplyCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CREATE_EXAMPLE]})

    brand_id: BrandId
    lang: Language
    code: Code
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="May use {{customer_name}}, {{order_id}} and {{agent_name}}",
    )
    intents: list[Intent] = Field(
        default_factory=list, max_length=14, description="Intents it fits (none: any intent)"
    )
    department: Department | None = Field(
        default=None, description="Only for this department's cases (none: any department)"
    )
    enabled: bool = True

    _blank = field_validator("title", "text")(_not_blank)


class CannedReplyUpdate(InputModel):
    """Every field optional; `version` refuses the change (409) when it changed since read."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"enabled": False}, {"title": "Retraso"}]}
    )

    code: Code | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    intents: list[Intent] | None = Field(default=None, max_length=14)
    department: Department | None = None
    enabled: bool | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)

    _blank = field_validator("title", "text")(_not_blank)


class CannedReplyRead(BaseModel):
    id: str
    brand_id: str
    lang: Language
    code: str
    title: str
    text: str
    variables: list[str] = Field(description="The variables the text uses")
    intents: list[str]
    department: str | None
    enabled: bool
    check_status: CheckStatus
    warnings: list[Violation] = Field(
        description="Warning-level findings of the guideline check when it was saved"
    )
    guideline_version: int | None
    checked_at: datetime | None
    version: int
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime


class CannedReplyPage(CursorPage[CannedReplyRead]):
    pass


class Suggestion(BaseModel):
    canned_reply_id: str
    code: str
    title: str
    lang: Language
    text: str = Field(description="The text with the case's values filled in")
    template: str
    variables: dict[str, str | None] = Field(description="Each variable's value (null: unknown)")
    missing_variables: list[str] = Field(description="Left as {{name}}: fill them before sending")
    fallback: bool = Field(description="In the other language: none fits in the case's")
    score: float = Field(description="Higher first: intent, department and completeness")
    warnings: list[Violation]


class SuggestionList(BaseModel):
    case_id: str
    lang: Language = Field(description="The language the suggestions are in")
    fallback: bool = Field(description="True when none fitted in the case's own language")
    items: list[Suggestion]
