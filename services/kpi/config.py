"""Kpi settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings


class KpiSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_KPI_", extra="ignore")

    service_name: str = "kpi"


settings = load_settings(KpiSettings)
