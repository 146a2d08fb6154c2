"""HTTP models of cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

from services.routing.intents import Intent
from shared.events.cases import CaseStatus, Priority
from shared.events.interactions import Channel, SentimentLabel
from shared.limits import InputModel
from shared.pagination import CursorPage

TAG_PATTERN = r"^[\w:\-./]{1,60}$"


class ClockRead(BaseModel):
    due_at: datetime | None = None
    target_seconds: int | None = None
    at_risk: bool = False
    at_risk_at: datetime | None = None
    breached: bool = False
    breached_at: datetime | None = None


class SlaRead(BaseModel):
    policy_id: str | None = None
    business_hours: bool = False
    first_response: ClockRead
    next_response: ClockRead
    resolution: ClockRead


class CaseRead(BaseModel):
    id: str
    brand_id: str
    thread_key: str
    channel: Channel
    account_id: str | None = None
    status: CaseStatus
    priority: Priority
    department: str | None = None
    assignee_id: str | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    lang: str | None = None
    sentiment_label: SentimentLabel | None = None
    sentiment_score: float | None = None
    tags: list[str]
    skills: list[str]
    requires_approval: bool
    author_external_id: str | None = None
    author_handle: str | None = None
    author_followers: int | None = None
    sla: SlaRead
    first_inbound_at: datetime
    last_inbound_at: datetime
    opened_at: datetime
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    message_count: int
    reopened_count: int
    version: int


class MessageRead(BaseModel):
    id: str
    interaction_id: str | None = None
    reply_id: str | None = None
    direction: str = Field(
        description="inbound (the customer), own (the brand, seen on the "
        "platform) or reply (sent from socialcare)"
    )
    kind: str | None = None
    external_id: str | None = None
    text: str
    author_external_id: str | None = None
    author_handle: str | None = None
    author_display_name: str | None = None
    lang: str | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    url: str | None = None
    created_at: datetime
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_reason: str | None = None


class HistoryRead(BaseModel):
    at: datetime
    actor: str
    action: str
    changes: dict[str, Any]
    note: str | None = None


class NoteRead(BaseModel):
    id: str
    author: str
    text: str
    created_at: datetime


class CaseDetail(CaseRead):
    messages: list[MessageRead]
    history: list[HistoryRead]
    notes: list[NoteRead]


class CasePage(CursorPage[CaseRead]):
    pass


class CaseCount(BaseModel):
    count: int


class SlaState(StrEnum):
    breached = "breached"
    at_risk = "at_risk"


class CaseUpdate(InputModel):
    """Fields to change (all optional); `version` refuses the change (409) when the case has
    changed since it was read."""

    status: CaseStatus | None = None
    priority: Priority | None = None
    tags: list[Annotated[str, StringConstraints(pattern=TAG_PATTERN)]] | None = Field(
        default=None, max_length=50
    )
    intent: Intent | None = Field(
        default=None, description="A correction: stored as a labelled example for retraining"
    )
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AssignRequest(InputModel):
    member_id: str = Field(min_length=1, max_length=36)


class TransferRequest(InputModel):
    department: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    note: str = Field(min_length=1, max_length=4000)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the note is empty")
        return value


class NoteCreate(InputModel):
    text: str = Field(min_length=1, max_length=10_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the note is empty")
        return value


UPDATE_EXAMPLES = {
    "resolve": {"summary": "Resolve the case", "value": {"status": "resolved"}},
    "correct_intent": {
        "summary": "Correct the intent (stored as a labelled example)",
        "value": {"intent": "employee_matter", "priority": "high", "tags": ["finiquito"]},
    },
}
ASSIGN_EXAMPLES = {"assign": {"summary": "Give the case to a member", "value": {"member_id": "…"}}}
TRANSFER_EXAMPLES = {
    "to_sales": {
        "summary": "Hand the case to sales with a note",
        "value": {
            "department": "sales",
            "note": "Quiere presupuesto para 40 unidades / Wants a quote for 40 units",
        },
    }
}
NOTE_EXAMPLES = {
    "note": {
        "summary": "An internal note",
        "value": {"text": "Cliente VIP: revisar pedido 4411 antes de responder."},
    }
}
