"""Alert tables: the detectors' state per brand and scope, and every alert raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.kpi.models import Base
from shared.db import UtcDateTime


class AlertDetectorState(Base):
    """A detector's buckets and baseline: scope "crisis" or "sla:<department>". Bounded by the
    longest window; locked while an event is folded in, so consumers share one state."""

    __tablename__ = "alert_detector_states"

    brand_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class AlertRecord(Base):
    __tablename__ = "alert_alerts"
    __table_args__ = (Index("ix_alert_alerts_brand_raised", "brand_id", "raised_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # active | resolved
    severity: Mapped[str] = mapped_column(String(20))
    title_es: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    interaction_ids: Mapped[list[str]] = mapped_column(JSON)
    case_ids: Mapped[list[str]] = mapped_column(JSON)
    keywords: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    intents: Mapped[list[str]] = mapped_column(JSON)
    thread_keys: Mapped[list[str]] = mapped_column(JSON)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    resolve_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
