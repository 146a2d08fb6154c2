"""Payloads owned by kpi: alerts (DESIGN.md, Events). Routing escalates crisis alerts;
webhooks pushes every alert out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class AlertKind(StrEnum):
    crisis = "crisis"  # negative-sentiment spike, crisis intents, a topic turning bad
    sla_burst = "sla_burst"  # many SLA breaches in a short window
    goal = "goal"  # a KPI goal at risk or missed


class AlertSeverity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class AlertRaised(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: str
    brand_id: str
    kind: AlertKind
    severity: AlertSeverity = AlertSeverity.warning
    title: str  # for a person, in the brand's language
    detail: str = ""
    # What the alert is about, so routing can find the matching open cases: channels, intents,
    # keywords or hashtags of the spike, thread keys of the cases seen in it.
    channels: list[str] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    thread_keys: list[str] = Field(default_factory=list)
    metric: str | None = None  # e.g. negative_share, sla_breaches, first_response_p90
    value: float | None = None
    threshold: float | None = None
    window_start: datetime
    window_end: datetime
    raised_at: datetime


class AlertResolved(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: str
    brand_id: str
    kind: AlertKind
    resolved_at: datetime
    reason: str = ""
