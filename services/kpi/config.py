"""Kpi settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings


class KpiSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_KPI_", extra="ignore")

    service_name: str = "kpi"
    # How often goals are judged (goal alerts are raised and resolved then).
    goal_evaluation_interval_seconds: float = Field(default=60.0, gt=0, le=86400)
    # The fact consumer's group. Every replica of one deployment shares it (they split the
    # partitions, all folding into the one database); a second deployment on the same cluster
    # with its own database (or a test) needs its own, or it folds part of the events into the
    # other's database and never sees them.
    facts_group_id: str = Field(default="kpi-facts", min_length=1, max_length=200)
    # Records per poll of the fact consumer (one transaction).
    facts_max_batch: int = Field(default=1000, ge=1, le=10000)

    # Fans (services/kpi/fans/scoring.py): advocates and detractors are fans with at least
    # `fan_min_followers`, `fan_repeat_min` positive (negative) interactions and that share of
    # their labelled interactions positive (negative).
    fan_min_followers: int = Field(default=1000, ge=0)
    # The audience consumer's group (fans, ideas, alerts). Every replica of one deployment
    # shares it; a second deployment on the same cluster (or a test) needs its own.
    audience_group_id: str = Field(default="kpi-audience", min_length=1, max_length=200)
    # Off: this process folds facts and serves the API but builds no fans, ideas or alerts.
    audience_enabled: bool = True
    fan_repeat_min: int = Field(default=3, ge=1)
    fan_lean_min_share: float = Field(default=0.6, gt=0, le=1)
    # Personal data: a fan not heard from for this long is forgotten (profile, history, cases).
    fan_retention_days: int = Field(default=730, ge=1)
    idea_retention_days: int = Field(default=365, ge=1)
    # Ideas below this intent confidence are not collected.
    idea_min_confidence: float = Field(default=0.35, ge=0, le=1)
    alert_retention_days: int = Field(default=180, ge=1)
    # How often active alerts are checked against the clock (they resolve when the condition
    # cleared though no event came); every replica checks, each state is locked by one.
    alert_check_interval_seconds: float = Field(default=60.0, gt=0, le=86400)
    # Crisis: a negative post by an author with at least this many followers raises an alert.
    alert_author_min_followers: int = Field(default=50_000, ge=1)


settings = load_settings(KpiSettings)
