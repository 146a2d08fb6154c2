"""Payloads owned by guidelines."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class GuidelinePublished(BaseModel):
    brand_id: str
    version: int = Field(ge=1)
    packs: list[str]
    rule_count: int = Field(ge=0)
    published_at: datetime


class GuidelineCheckCompleted(BaseModel):
    """One check of a text; the KPI service derives first-pass compliance from these."""

    check_id: str
    brand_id: str
    guideline_version: int
    channel: str | None = None
    lang: str | None = None
    passed: bool
    score: float
    violation_count: int = Field(ge=0)
    error_count: int = Field(ge=0)
    rule_ids: list[str] = Field(default_factory=list)
    reply_id: str | None = None
    case_id: str | None = None
    checked_at: datetime
