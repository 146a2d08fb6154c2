"""Ingest tables, in the `ingest` schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.tables import define_bus_tables
from shared.db import UtcDateTime, service_metadata
from shared.events.interactions import MAX_PLATFORM_ID
from shared.idempotency import IdempotentResponseColumns

SCHEMA = "ingest"
# What a dedupe key (change kind and discriminator) may hold: longer ones are digested
# (services/ingest/pipeline/changes.py). Platform ids: `MAX_PLATFORM_ID` characters.
MAX_DEDUPE_KEY = 100


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)


class Connection(Base):
    """A brand's connection to a platform: which accounts it covers and its (encrypted) secrets."""

    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    account_ids: Mapped[list[str]] = mapped_column(JSON)
    default_lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    secrets_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secrets_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class InteractionRecord(Base):
    """The latest state of every interaction; the full canonical shape is in `document`."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("brand_id", "channel", "external_id"),
        Index("ix_interactions_brand_received", "brand_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    connection_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    channel: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(MAX_PLATFORM_ID))
    thread_key: Mapped[str] = mapped_column(String(400), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeliveryKey(Base):
    """Dedupe on (source, external id, change kind): a redelivered webhook makes no new event."""

    __tablename__ = "delivery_keys"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(MAX_PLATFORM_ID), primary_key=True)
    change_kind: Mapped[str] = mapped_column(String(MAX_DEDUPE_KEY), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now(), index=True)


class RawPayload(Base):
    """Raw webhook bodies, kept for the retention period for audits and reprocessing."""

    __tablename__ = "raw_payloads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(36), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class IdempotentResponse(IdempotentResponseColumns, Base):
    """The stored answer of a POST carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotent_responses"


class Send(Base):
    """One reply to send on a platform, by its reply id (`send_id`): a duplicate request finds
    this row and sends nothing. State: requested -> in_flight -> completed | failed | uncertain
    (services/ingest/sending/__init__.py explains how a restart is handled)."""

    __tablename__ = "sends"
    __table_args__ = (Index("ix_sends_state_next_attempt_at", "state", "next_attempt_at"),)

    send_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_event_id: Mapped[str] = mapped_column(String(100))
    brand_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    connection_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(30))
    thread_key: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str] = mapped_column(String(MAX_PLATFORM_ID))
    text: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # While in_flight: when the attempt began and until when its worker owns it.
    attempt_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # An earlier attempt may have reached the platform: look before posting again.
    check_before_send: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_message_id: Mapped[str | None] = mapped_column(String(MAX_PLATFORM_ID), nullable=True)
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
