"""Idea tables: the posts classified feedback_idea, with their keyphrases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.kpi.models import Base
from shared.db import UtcDateTime


class IdeaItem(Base):
    """One idea. Personal data found in its text (shared/pii.py) is masked before it is kept."""

    __tablename__ = "idea_items"
    __table_args__ = (Index("ix_idea_items_brand_created", "brand_id", "created_at"),)

    interaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    author_profile_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    sentiment_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    phrases: Mapped[list[Any]] = mapped_column(JSON)  # [[key, written form], ...]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
