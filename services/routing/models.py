"""Routing tables, in the `routing` schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.tables import define_bus_tables
from shared.db import UtcDateTime, service_metadata
from shared.idempotency import IdempotentResponseColumns

SCHEMA = "routing"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)


class IntentExample(Base):
    """A post labelled with its intent by a person (a member correcting a case's intent).

    One row per brand and text: correcting the same text again replaces its label, so the table
    grows with distinct corrected texts only; deleting a brand's rows is its purge.
    """

    __tablename__ = "intent_examples"
    __table_args__ = (UniqueConstraint("brand_id", "text_sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    intent: Mapped[str] = mapped_column(String(40))
    previous_intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(30), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    labelled_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class IdempotentResponse(IdempotentResponseColumns, Base):
    """The stored answer of a POST carrying an Idempotency-Key (team, rules, canned replies,
    replies), replayed on retries; purged after `idempotency_retention_hours`."""

    __tablename__ = "idempotent_responses"


IDEMPOTENT_RESPONSES = cast(Table, IdempotentResponse.__table__)


# ---------------------------------------------------------------- the team (DESIGN steps 1–3)


class Department(Base):
    """A department of a brand's social care team, with the calendar its SLAs run on.

    `weekly_hours` maps `monday`..`sunday` to a list of `["HH:MM", "HH:MM"]` spans in `timezone`
    (an empty or missing day is closed); `holidays` is a list of ISO dates. Departments are
    disabled, never deleted, so cases and reports keep their key.
    """

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("brand_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(40))
    name_es: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Member(Base):
    """A person of the team. `open_cases` is maintained by case assignment (atomically, in the
    assigning transaction) and never written by the team API; `capacity` bounds it."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("brand_id", "email"),
        Index("ix_members_brand_id_created_at", "brand_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))  # agent | lead | reviewer
    skills: Mapped[list[str]] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON)
    capacity: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    availability: Mapped[str] = mapped_column(String(20), server_default="offline")
    availability_changed_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now()
    )
    open_cases: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class MemberDepartment(Base):
    __tablename__ = "member_departments"

    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Account(Base):
    """A social account of the brand: `channel` + `external_account_id` are the ids ingest's
    connections carry (`account_ids`), `connection_id` the ingest connection when known."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("brand_id", "channel", "external_account_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(30))
    external_account_id: Mapped[str] = mapped_column(String(200))
    connection_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class AccessGrant(Base):
    """Which member may read and reply from which account (no grant: never assigned)."""

    __tablename__ = "access_grants"

    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    can_read: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    can_reply: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Responsibility(Base):
    """The responsibilities matrix: which department owns an intent (null: nobody, closed)."""

    __tablename__ = "responsibilities"

    brand_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    intent: Mapped[str] = mapped_column(String(40), primary_key=True)
    department_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("departments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Rule(Base):
    """One routing rule of a brand, evaluated in `position` order; `version` grows on every
    change. `conditions` and `actions` hold the rule engine's RuleSpec parts as JSON;
    `department` repeats `actions.department` so department limits filter rules in SQL."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_brand_id_position", "brand_id", "position", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(40), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    stop: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    actions: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class SlaPolicy(Base):
    """Targets for a brand's department at one priority, in seconds (null: no target), counted
    in the department's business hours or on the wall clock."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("brand_id", "department_id", "priority"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[str] = mapped_column(String(10))  # urgent | high | normal | low
    first_response_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_response_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    business_hours: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # An assignee who has not acted (replied, or set the case pending) this many minutes after
    # being given an open case loses it to someone else of the department (null: never).
    reassign_after_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class ConfigVersion(Base):
    """One counter per brand, bumped in the same transaction as any change to its routing
    configuration (team, accounts, grants, responsibilities, rules, SLA policies): a replica
    compares it with its cached snapshot's to know the snapshot is stale."""

    __tablename__ = "config_versions"

    brand_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


# The case tables live with their domain; importing them here puts them on `Base.metadata`
# (migrations and the models-match-migrations check read it from this module).
from services.routing.canned import models as _canned_models  # noqa: E402, F401
from services.routing.cases import models as _case_models  # noqa: E402, F401
from services.routing.replies import models as _reply_models  # noqa: E402, F401
