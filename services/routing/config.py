"""Routing settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_ROUTING_", extra="ignore")

    service_name: str = "routing"


settings = load_settings(RoutingSettings)
