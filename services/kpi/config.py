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
    # Records per poll of the fact consumer (one transaction).
    facts_max_batch: int = Field(default=1000, ge=1, le=10000)


settings = load_settings(KpiSettings)
