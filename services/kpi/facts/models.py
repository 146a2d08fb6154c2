"""Fact tables: the last known state of each thing the KPIs count.

Snapshots (interactions, cases) keep the version they come from, (event time, event id), and a
later-versioned event wins whatever order events arrive in; what accumulates (SLA breaches,
deletions, replies, checks) is kept as the earliest time seen. So every fact is the same after
any order of the same events, and so are the rollups computed from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.kpi.models import Base
from shared.db import UtcDateTime


class InteractionFact(Base):
    __tablename__ = "interaction_facts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    thread_key: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str | None] = mapped_column(String(30), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sentiment_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    author_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_followers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    own_message: Mapped[bool] = mapped_column(Boolean, default=False)
    # None until a received/updated event arrived (a deletion may come first).
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_interaction_facts_brand_created", "brand_id", "created_at"),)


class CaseFact(Base):
    __tablename__ = "case_facts"

    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    thread_key: Mapped[str] = mapped_column(String(500), default="")
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(50), nullable=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(20), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sentiment_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # None while only replies of the case are known (its events not folded yet).
    first_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # resolved_at - opened_at in the department's business hours, as routing measured it.
    resolution_business_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    first_response_target_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The earliest case.sla_breached of the first-response clock.
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_case_facts_brand_opened", "brand_id", "opened_at"),
        # The backlog (cases open or pending now) of a brand without reading its closed cases.
        Index("ix_case_facts_brand_status", "brand_id", "status"),
    )


class ReplyFact(Base):
    """A sent reply (`reply.sent`)."""

    __tablename__ = "reply_facts"

    reply_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(100), index=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    author_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answers_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_check_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Business hours of the handling department, as routing measured them (routing knows the
    # calendars): from the case's first inbound message, and from `answers_inbound_at`, to
    # `sent_at`, in milliseconds. None for replies routing sent without them.
    first_inbound_business_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    answers_inbound_business_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CheckFact(Base):
    """A guideline check; the checks of one reply form one unit (its first one counts)."""

    __tablename__ = "check_facts"

    check_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # The reply checked, or the check itself for a text checked outside a reply.
    unit_key: Mapped[str] = mapped_column(String(110), index=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(30), nullable=True)
    reply_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EngagementFact(Base):
    """One engagement record (likes, comments, shares, views of an item)."""

    __tablename__ = "engagement_facts"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    likes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    comments: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shares: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    views: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_engagement_facts_brand_occurred", "brand_id", "occurred_at"),)
