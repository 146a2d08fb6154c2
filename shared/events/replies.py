"""Payloads owned by routing: the reply events (DESIGN.md, Events).

What kpi needs to measure first and next response times, workload per member and guideline
first-pass rates, and what the reply workflow adds at each step (status, check, review, the
platform's answer); new fields are optional only, so consumers built on this keep reading.
Keyed by thread key on `socialcare.replies`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.interactions import Channel


class ReplyEvent(BaseModel):
    """One reply of a case (`reply.drafted`, ..., `reply.sent`, `reply.failed`)."""

    model_config = ConfigDict(extra="forbid")

    reply_id: str
    case_id: str
    brand_id: str
    thread_key: str
    channel: Channel
    department: str | None = None
    author_id: str | None = None  # the member who wrote it
    # Platform time the reply went out (reply.sent); None before it is sent.
    sent_at: datetime | None = None
    # The customer message this reply answers (platform time): next response time is measured
    # from it. None for a reply that answers nothing new (a follow-up).
    answers_inbound_at: datetime | None = None
    # Whether its first guideline check passed (None: never checked).
    first_check_passed: bool | None = None
    occurred_at: datetime
    # Added by the reply workflow (optional, so older readers keep reading):
    # awaiting_approval | rejected | sending | sent | failed
    status: str | None = None
    revision: int | None = None  # 1, then one more per edit
    check_passed: bool | None = None  # the latest check
    check_score: float | None = None
    check_band: str | None = None  # good | review | poor
    approval_reasons: list[str] | None = None  # case, department, priority, reach, band
    reviewer_id: str | None = None  # who approved or rejected it
    comment: str | None = None  # the reviewer's
    platform_message_id: str | None = None  # reply.sent
    # reply.failed: send.failed's reason and code (`uncertain`: look before answering again)
    # and the platform's own error, as ingest kept it.
    failure_reason: str | None = None
    failure_code: str | None = None
    failure_messages: dict[str, str] | None = None
    platform_error: dict[str, Any] | None = None
    # reply.sent: open seconds of the handling department's calendar (business hours) from the
    # case's first inbound message, and from `answers_inbound_at`, to `sent_at`; kpi's first
    # and next response times in business hours. None from routing versions before them, or
    # when the department has no calendar.
    first_inbound_business_seconds: float | None = Field(default=None, ge=0)
    answers_inbound_business_seconds: float | None = Field(default=None, ge=0)


REPLY_EVENT_TYPES = (
    "reply.drafted",
    "reply.checked",
    "reply.approval_requested",
    "reply.approved",
    "reply.rejected",
    "reply.sent",
    "reply.failed",
)
