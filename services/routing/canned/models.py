"""Canned replies: a brand's ready-made answers, per language, with a short code and variables.

`hr` is stored (department `hr`, or an HR intent among `intents`) so HR's answers are left out
of lists and suggestions in SQL for keys that may not see HR, as cases are. `warnings` keeps the
guideline check's warning-level violations of the saved text (an error-level one refuses the
save) and `guideline_version` the guideline it was checked against (null: the brand had none).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from services.routing.models import Base
from shared.db import UtcDateTime


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = (
        UniqueConstraint("brand_id", "lang", "code"),
        Index("ix_canned_replies_brand_id_lang_enabled", "brand_id", "lang", "enabled"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    lang: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[str]] = mapped_column(JSON, default=list)
    intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    department: Mapped[str | None] = mapped_column(String(40), nullable=True)
    hr: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    guideline_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class CannedReplySeed(Base):
    """A brand that was given the default canned replies (`canned/defaults.py`) on its first
    use: they are seeded once, so a brand that edits or deletes them keeps its choice."""

    __tablename__ = "canned_reply_seeds"

    brand_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seeded_at: Mapped[datetime] = mapped_column(UtcDateTime)
