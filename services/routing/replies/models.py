"""Reply tables: one row per reply of a case through its whole life, and each brand's reply
settings.

A reply is written by a member, checked against the brand's guideline, waits for a reviewer
when something demands it, and is handed to ingest to send (`send.requested`, `send_id` = the
reply id). Its `status` says where it is:

    awaiting_approval → (approved) sending → sent | failed
    awaiting_approval → rejected → (edited) awaiting_approval | sending
    (no approval needed)  sending → sent | failed

`delivery_status` follows the platform's own reports after sending (WhatsApp: sent, delivered,
read, failed; Messenger and Instagram: delivered, read, per message or by watermark). Replies
go with their case (ON DELETE CASCADE): the case purge is theirs.

A report can arrive before routing has recorded the send it is about (the platform posts its
`sent` or even `read` webhook before ingest has its API answer, or ingest's outcome waits in
Kafka): it waits in `pending_delivery_reports` until `send.completed` names the message, and is
purged after `pending_delivery_retention_hours` when no send of ours ever does. A watermark
report (Messenger / Instagram) that may cover a reply still sending waits there too, under
`platform_message_id` `watermark:<channel>:<thread>:<epoch ms>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.routing.models import Base
from shared.db import UtcDateTime


class Reply(Base):
    __tablename__ = "replies"
    __table_args__ = (
        Index("ix_replies_case_id_created_at", "case_id", "created_at"),
        Index("ix_replies_status_submitted_at", "status", "submitted_at", "id"),
        Index("ix_replies_platform_message_id", "platform_message_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    brand_id: Mapped[str] = mapped_column(String(100))
    thread_key: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(30))
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    author_id: Mapped[str] = mapped_column(String(36))
    author_key_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # 1 + edits
    # Why a reviewer must approve it (empty: nobody needs to).
    approval_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The latest guideline check: its id, verdict, score, band and the violations it listed.
    check_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    check_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    check_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    check_band: Mapped[str | None] = mapped_column(String(10), nullable=True)
    guideline_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    first_check_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # What it answers: the customer's latest message when it was written (platform time).
    answers_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The send: how, to whom, from which connection; what the platform answered.
    send_kind: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str] = mapped_column(String(200))
    connection_id: Mapped[str] = mapped_column(String(36))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    platform_message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    delivery_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The review.
    reviewer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When each step happened.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)  # latest (re)submission
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    send_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class PendingDeliveryReport(Base):
    """A delivery report on a platform message no reply names yet: one row per state (a
    duplicate report adds nothing), applied and deleted when the send is recorded."""

    __tablename__ = "pending_delivery_reports"
    __table_args__ = (Index("ix_pending_delivery_reports_received_at", "received_at"),)

    brand_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform_message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)  # platform time
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


PENDING_DELIVERY_REPORTS = cast(Table, PendingDeliveryReport.__table__)


class ReplySettings(Base):
    """A brand's reply settings: what demands a reviewer's approval, and whether a sent reply
    resolves its case (otherwise the case waits for the customer, `pending`). No row: the
    defaults (approval only where a rule or a crisis marked the case; no resolve on reply)."""

    __tablename__ = "reply_settings"

    brand_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    resolve_on_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    # Departments (PR, corporate communications, ...) whose replies always need approval.
    approval_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Case priorities (the SLA policy's urgent cases, ...) whose replies need approval.
    approval_priorities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Authors with at least this many followers (large reach): approval. None: never.
    approval_min_followers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # A check in a band below this one (good > review > poor) needs approval. None: never.
    approval_below_band: Mapped[str | None] = mapped_column(String(10), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )
