"""Case tables: one case per conversation thread, its messages, history, notes, and the queue of
cases waiting for an assignee.

A thread has at most one active case (status open or pending: the partial unique index on
`thread_key`); a resolved or closed case stays as it was and a later message either reopens it
(inside the reopen window) or opens a new one. SLA clocks are columns of the case: the deadline
of each kind, when it was marked at risk, when it breached, and `sla_next_check_at`, the earliest
moment the scheduler has something to do for the case (indexed, so a pass reads only due rows).
Replies (the reply workflow) attach to `case_messages` with direction `reply` and set the
response times below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.routing.models import Base
from shared.db import UtcDateTime

ACTIVE_STATUSES = ("open", "pending")
_ACTIVE = text("status IN ('open', 'pending')")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index(
            "uq_cases_active_thread_key",
            "thread_key",
            unique=True,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
        Index("ix_cases_brand_id_opened_at", "brand_id", "opened_at"),
        Index("ix_cases_thread_key_opened_at", "thread_key", "opened_at"),
        Index("ix_cases_assignee_id_status", "assignee_id", "status"),
        Index("ix_cases_sla_next_check_at", "sla_next_check_at"),
        Index("ix_cases_sla_policy_id_assigned_at", "sla_policy_id", "assigned_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    thread_key: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(30))
    connection_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    intent_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sentiment_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # required of the assignee
    matched_rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    author_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_followers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # SLA: the policy, its targets, and one deadline / at-risk mark / breach per clock.
    sla_policy_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    sla_business_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_response_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # When each clock turns at risk (computed with the deadline) and when it was marked so.
    first_response_risk_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_response_risk_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolution_risk_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_response_at_risk_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_response_at_risk_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolution_at_risk_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sla_next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Response times (set by replies): the first reply sent, the latest one.
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_inbound_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_inbound_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # When the scheduler last found the assignee idle past the policy's `reassign_after_minutes`
    # and nobody else could take the case (it stays; it is not tried again until reassigned).
    reassign_attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # resolved_at - opened_at in the department's business hours, measured when it was resolved
    # (kpi's resolution time in business hours; only meant while resolved_at is set).
    resolution_business_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


@dataclass(slots=True, kw_only=True, eq=False)
class NewCase:
    """A case the intake opens during one poll, before its row exists.

    The same attributes as `Case` (every column but `updated_at`, which the database fills in;
    `tests/routing/test_cases_intake_batch.py` checks they stay the same), as plain slots: the
    intake builds hundreds per poll, reads and sets each attribute many times (rules, SLA
    clocks, assignment, events), then stores them with one INSERT. ORM instances would pay the
    attribute instrumentation and unit of work on every one of those steps for nothing.
    """

    id: str
    brand_id: str
    thread_key: str
    channel: str
    connection_id: str | None
    account_id: str | None
    status: str
    priority: str
    department: str | None
    assignee_id: str | None = None
    intent: str | None
    intent_confidence: float | None
    lang: str | None
    sentiment_label: str | None
    sentiment_score: float | None
    tags: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    matched_rules: list[str] = field(default_factory=list)
    requires_approval: bool = False
    author_external_id: str | None
    author_handle: str | None
    author_followers: int | None
    sla_policy_id: str | None = None
    sla_business_hours: bool = False
    first_response_target_seconds: int | None = None
    next_response_target_seconds: int | None = None
    resolution_target_seconds: int | None = None
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_response_risk_from: datetime | None = None
    next_response_risk_from: datetime | None = None
    resolution_risk_from: datetime | None = None
    first_response_at_risk_at: datetime | None = None
    next_response_at_risk_at: datetime | None = None
    resolution_at_risk_at: datetime | None = None
    first_response_breached_at: datetime | None = None
    next_response_breached_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    sla_next_check_at: datetime | None = None
    first_response_at: datetime | None = None
    last_response_at: datetime | None = None
    first_inbound_at: datetime
    last_inbound_at: datetime
    opened_at: datetime
    assigned_at: datetime | None = None
    reassign_attempted_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_business_seconds: float | None = None
    closed_at: datetime | None = None
    reopened_count: int = 0
    message_count: int = 0
    version: int = 1


# What the intake, SLA clocks, assignment and case events work on: a stored case or one the
# poll is opening.
AnyCase: TypeAlias = Case | NewCase


class CaseMessage(Base):
    """One message of the thread: the customer's (inbound), the brand's own posts seen on the
    platform (own), and replies sent from socialcare (reply)."""

    __tablename__ = "case_messages"
    __table_args__ = (Index("ix_case_messages_case_id_created_at", "case_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Checked row by row, except in a transaction that defers it to its commit (the case
    # intake writes a poll's messages ahead of its new cases: `repository.defer_case_checks`).
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE", deferrable=True, initially="IMMEDIATE")
    )
    interaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    reply_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    direction: Mapped[str] = mapped_column(String(10))  # inbound | own | reply
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    author_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_display_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sentiment_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deleted_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class CaseHistory(Base):
    """Every change of a case: who, when, what (field → [before, after])."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    # Checked row by row, except in a transaction that defers it to its commit (the case
    # intake writes a poll's history ahead of its new cases: `repository.defer_case_checks`).
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE", deferrable=True, initially="IMMEDIATE"),
        index=True,
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CaseNote(Base):
    """An internal note on a case (never sent to the customer)."""

    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QueuedCase(Base):
    """A case waiting for an assignee in its department: highest priority, then oldest, first."""

    __tablename__ = "assignment_queue"
    __table_args__ = (
        Index("ix_assignment_queue_brand_id_department", "brand_id", "department", "rank"),
    )

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    brand_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(60))
    rank: Mapped[int] = mapped_column(Integer)  # 0 urgent … 3 low
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)
