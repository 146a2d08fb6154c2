"""Webhooks tables, in the `webhooks` schema.

One row per endpoint; one per event to deliver (its body, built once); one per (endpoint,
event) delivery with its retry state; one per attempt, the delivery log. Every row but the
endpoints' is deleted `delivery_retention_days` after its event (services/webhooks/main.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.tables import define_bus_tables
from shared.db import UtcDateTime, service_metadata
from shared.idempotency import IdempotentResponseColumns

SCHEMA = "webhooks"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)


class Endpoint(Base):
    """Where to deliver which events, signed with which secrets, for whom."""

    __tablename__ = "endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Patterns: exact types (`reply.sent`), `prefix.*`, or `*`.
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # None: every brand the owner may see.
    brand_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rate_limit_per_second: Mapped[int | None] = mapped_column(Integer, nullable=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The key that created it and that key's limits: events are filtered by what it may see.
    owner_key_id: Mapped[str] = mapped_column(String(100))
    owner_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_departments: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    owner_brands: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Since when every attempt has failed (None while the last one succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class WebhookEvent(Base):
    """One event as integrators get it: the body `{type, timestamp, data}`, built once."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_occurred_at", "occurred_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the CloudEvent id
    type: Mapped[str] = mapped_column(String(100))
    brand_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The owning department of a case event ("hr" for HR cases), else None.
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class Delivery(Base):
    """One event for one endpoint, and where its retry schedule stands."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        # The dispatcher's claim: due pending deliveries of one endpoint, oldest first.
        Index(
            "ix_deliveries_due",
            "endpoint_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_deliveries_event_id", "event_id"),
        Index("ix_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(64), ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(100))
    # pending (waiting or in flight), succeeded, failed (schedule exhausted or endpoint gone).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # Attempts made since the schedule last (re)started (a retry or replay restarts it).
    schedule_step: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every claim and every retry or replay: an attempt's outcome is written only
    # while the delivery still holds the generation it was claimed with.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # When it is due; while an attempt is in flight, when its claim lapses.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    succeeded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Attempt(Base):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_delivery_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    delivery_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("deliveries.id", ondelete="CASCADE")
    )
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The first KiB of the response body, as text.
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)


class IdempotentResponse(IdempotentResponseColumns, Base):
    """The stored answer of a POST carrying an Idempotency-Key, replayed on retries (a new
    endpoint's secret in it is sealed like the endpoints' own)."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (Index("ix_idempotent_responses_created_at", "created_at"),)
