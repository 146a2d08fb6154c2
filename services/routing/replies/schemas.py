"""HTTP models of replies, approvals and reply settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

from services.routing.guidelines_client import Violation
from shared.events.cases import Priority
from shared.events.interactions import Channel
from shared.limits import InputModel
from shared.pagination import CursorPage

# No surface takes more (ingest's MAX_SEND_TEXT); each channel's own limit is checked too.
MAX_REPLY_TEXT = 10_000
MemberId = Annotated[
    str, StringConstraints(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.-]+$")
]


class ReplyStatus(StrEnum):
    awaiting_approval = "awaiting_approval"
    rejected = "rejected"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class DeliveryStatus(StrEnum):
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class Band(StrEnum):
    good = "good"
    review = "review"
    poor = "poor"


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("the reply is empty")
    return value


class ReplyCreate(InputModel):
    text: str = Field(min_length=1, max_length=MAX_REPLY_TEXT)
    author_member_id: MemberId | None = Field(
        default=None,
        description=(
            "The member who writes it, for a key bound to no member (a CRM's); a personal "
            "key writes as its own member (naming another is 403)."
        ),
    )

    _not_blank = field_validator("text")(_text)


class ReplyEdit(InputModel):
    """The author's corrected text: checked again, then back to the reviewer (or sent)."""

    text: str = Field(min_length=1, max_length=MAX_REPLY_TEXT)
    author_member_id: MemberId | None = None

    _not_blank = field_validator("text")(_text)


class ReviewDecision(InputModel):
    comment: str | None = Field(default=None, max_length=4000)
    reviewer_member_id: MemberId | None = Field(
        default=None, description="The reviewer, for a key bound to no member"
    )


class Rejection(ReviewDecision):
    comment: str = Field(min_length=1, max_length=4000, description="What the author must change")

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say what must change")
        return value


class CheckRead(BaseModel):
    check_id: str | None = None
    passed: bool | None = None
    score: float | None = None
    band: str | None = None
    guideline_version: int | None = None


class FailureRead(BaseModel):
    reason: str
    code: str
    messages: dict[str, str]
    platform_error: dict[str, Any] | None = None


class ReplyRead(BaseModel):
    id: str
    case_id: str
    brand_id: str
    channel: Channel
    department: str | None = None
    author_id: str
    text: str
    status: ReplyStatus
    revision: int
    approval_reasons: list[str] = Field(
        description="Why a reviewer must approve it: case (a rule or a crisis), department, "
        "priority, reach (the customer's followers), band (the check's)"
    )
    check: CheckRead
    warnings: list[Violation] = Field(
        description="What the check found below error level: accepted, worth a look"
    )
    send_kind: str
    delivery_status: DeliveryStatus | None = None
    platform_message_id: str | None = None
    failure: FailureRead | None = None
    reviewer_id: str | None = None
    review_comment: str | None = None
    created_at: datetime
    submitted_at: datetime
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    send_requested_at: datetime | None = None
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None


class ReplyPage(CursorPage[ReplyRead]):
    pass


class ReplySettingsUpdate(InputModel):
    resolve_on_reply: bool = False
    approval_departments: list[str] = Field(
        default_factory=list, max_length=20, description="Departments whose replies need approval"
    )
    approval_priorities: list[Priority] = Field(
        default_factory=list, description="Case priorities whose replies need approval"
    )
    approval_min_followers: int | None = Field(
        default=None, ge=0, le=10**12, description="Authors this large need approval"
    )
    approval_below_band: Band | None = Field(
        default=None, description="A check in a lower band needs approval (good > review > poor)"
    )

    @field_validator("approval_departments")
    @classmethod
    def _departments(cls, value: list[str]) -> list[str]:
        for key in value:
            if not (1 <= len(key) <= 40) or not key.replace("_", "a").isalnum():
                raise ValueError(f"not a department key: {key[:40]}")
        return sorted(set(value))


class ReplySettingsRead(BaseModel):
    brand_id: str
    resolve_on_reply: bool
    approval_departments: list[str]
    approval_priorities: list[str]
    approval_min_followers: int | None = None
    approval_below_band: str | None = None


CREATE_EXAMPLES: dict[str, dict[str, Any]] = {
    "personal_key": {
        "summary": "From a key bound to the author (the console)",
        "value": {
            "text": "Hola Marta, lamentamos el retraso. Escríbanos por mensaje privado con su "
            "número de pedido y lo revisamos hoy mismo."
        },
    },
    "system_key": {
        "summary": "From a system key (a CRM), naming the author",
        "value": {
            "text": "Hi Sam, sorry for the wait. Please DM us your order number.",
            "author_member_id": "5f1c7a52-0b7e-4d0c-9a51-2d6c4c1f8e10",
        },
    },
}
EDIT_EXAMPLES: dict[str, dict[str, Any]] = {
    "corrected": {
        "summary": "The corrected text after a rejection",
        "value": {
            "text": "Buenos días, Marta. Disculpe las molestias: ya hemos enviado su pedido."
        },
    }
}
APPROVE_EXAMPLES: dict[str, dict[str, Any]] = {
    "approve": {"summary": "Approve", "value": {"comment": "OK / Correcto"}},
}
REJECT_EXAMPLES: dict[str, dict[str, Any]] = {
    "reject": {
        "summary": "Reject with what to change",
        "value": {"comment": "No prometas fechas de entrega / Do not promise delivery dates"},
    }
}
SETTINGS_EXAMPLES: dict[str, dict[str, Any]] = {
    "pr_approval": {
        "summary": "PR replies and large authors need approval; a reply resolves its case",
        "value": {
            "resolve_on_reply": True,
            "approval_departments": ["pr", "corporate_comms"],
            "approval_priorities": ["urgent"],
            "approval_min_followers": 50000,
            "approval_below_band": "good",
        },
    }
}
