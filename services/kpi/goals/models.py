"""The goals table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.kpi.models import Base
from shared.db import UtcDateTime


class Goal(Base):
    __tablename__ = "goals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    metric: Mapped[str] = mapped_column(String(60))
    target: Mapped[float] = mapped_column(Float)
    period: Mapped[str] = mapped_column(String(10))  # week | month
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    # The last evaluation: its period, status, and the goal alert open for it (if any).
    period_start: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    alert_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_goals_brand_id", "brand_id", "id"),)
