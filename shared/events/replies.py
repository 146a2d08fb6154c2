"""Payloads owned by routing: the reply events (DESIGN.md, Events).

Minimal for now: what kpi needs to measure first and next response times, workload per member
and guideline first-pass rates. Routing's replies issue may add fields (optional ones only, so
consumers built on this keep reading). Keyed by thread key on `socialcare.replies`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

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


REPLY_EVENT_TYPES = (
    "reply.drafted",
    "reply.checked",
    "reply.approval_requested",
    "reply.approved",
    "reply.rejected",
    "reply.sent",
    "reply.failed",
)
