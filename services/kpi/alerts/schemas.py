"""HTTP models of the alerts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.pagination import CursorPage


class AlertStatus(StrEnum):
    active = "active"
    resolved = "resolved"


class AlertRead(BaseModel):
    id: str
    brand_id: str
    kind: str = Field(description="crisis | sla_burst | goal")
    metric: str = Field(description="negative_share | crisis_intents | author_reach | sla_breaches")
    department: str | None
    status: AlertStatus
    severity: str
    title: str = Field(description="In the language most of the window's posts were in")
    title_es: str
    title_en: str
    value: float
    threshold: float
    figures: dict[str, Any]
    interaction_ids: list[str]
    case_ids: list[str]
    keywords: list[str]
    channels: list[str]
    thread_keys: list[str]
    window_start: datetime
    window_end: datetime
    raised_at: datetime
    resolved_at: datetime | None
    resolve_reason: str | None


class AlertPage(CursorPage[AlertRead]):
    pass
