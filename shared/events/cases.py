"""Payloads owned by routing: the case events (DESIGN.md, Events; the routing issue).

Every `case.*` event carries one `CaseEvent`: a snapshot of the case after the change, plus
what changed, so kpi and webhooks fold it without calling routing back. Keyed by thread key
on `socialcare.cases`, so one conversation's events stay ordered on one partition.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.interactions import Channel, SentimentLabel


class CaseStatus(StrEnum):
    open = "open"
    pending = "pending"  # waiting on the customer
    resolved = "resolved"
    closed = "closed"


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"
    low = "low"


class SlaKind(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class SlaDeadlines(BaseModel):
    """Deadlines of the case's SLA policy (None where the policy sets no target)."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str | None = None
    business_hours: bool = False
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    # The target in seconds of each kind, so a consumer can judge "met" without the policy.
    first_response_target_seconds: int | None = Field(default=None, ge=0)
    next_response_target_seconds: int | None = Field(default=None, ge=0)
    resolution_target_seconds: int | None = Field(default=None, ge=0)


class CaseEvent(BaseModel):
    """The case after the change (`case.opened`, `case.routed`, `case.assigned`, ...)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    brand_id: str
    thread_key: str
    channel: Channel
    account_id: str | None = None  # the brand's social account the thread is on
    status: CaseStatus
    priority: Priority
    department: str | None = None  # None: closed without an owner (spam)
    assignee_id: str | None = None  # member id
    intent: str | None = None
    intent_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    lang: str | None = None
    sentiment_label: SentimentLabel | None = None
    sentiment_score: float | None = Field(default=None, ge=-1.0, le=1.0)
    tags: list[str] = Field(default_factory=list)
    requires_approval: bool = False
    author_external_id: str | None = None
    author_followers: int | None = Field(default=None, ge=0)
    sla: SlaDeadlines = Field(default_factory=SlaDeadlines)
    # Interaction times: the first inbound message's platform time (first response time is
    # measured from it) and the latest inbound one (next response time).
    first_inbound_at: datetime
    last_inbound_at: datetime
    opened_at: datetime
    resolved_at: datetime | None = None
    # resolved_at - opened_at in the open hours of the department's calendar (routing measures
    # it when the case is resolved): kpi's resolution time in business hours. None while not
    # resolved, from routing versions before it, or for a department without a calendar.
    resolution_business_seconds: float | None = Field(default=None, ge=0)
    interaction_id: str | None = None  # the interaction that caused this event, if one did
    message_count: int = Field(default=1, ge=0)
    # What changed: for case.updated the field names; for transfers/assignments the previous
    # owner; for case.sla_breached which clock; free text the member wrote (transfer note).
    changed: list[str] = Field(default_factory=list)
    previous_department: str | None = None
    previous_assignee_id: str | None = None
    sla_kind: SlaKind | None = None
    actor: str | None = None  # member id, key id or "system"
    note: str | None = None
    occurred_at: datetime


CASE_EVENT_TYPES = (
    "case.opened",
    "case.routed",
    "case.assigned",
    "case.queued",
    "case.transferred",
    "case.escalated",
    "case.sla_breached",
    "case.updated",
    "case.resolved",
    "case.reopened",
)
