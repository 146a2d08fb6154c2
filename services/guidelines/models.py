"""Guidelines tables, in the `guidelines` schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.tables import define_bus_tables
from shared.db import UtcDateTime, service_metadata

SCHEMA = "guidelines"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)


class GuidelineVersion(Base):
    """One immutable version of a brand's guideline (packs, overrides, brand facts)."""

    __tablename__ = "guideline_versions"
    __table_args__ = (UniqueConstraint("brand_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    brand_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule_count: Mapped[int] = mapped_column(Integer)
    published_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class CheckRecord(Base):
    """Every check, with the guideline version it used (for audits and first-pass KPIs)."""

    __tablename__ = "checks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100), index=True)
    guideline_version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(30), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    violation_count: Mapped[int] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer)
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    reply_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
