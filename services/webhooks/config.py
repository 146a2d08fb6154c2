"""Webhooks settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings


class WebhooksSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_WEBHOOKS_", extra="ignore")

    service_name: str = "webhooks"


settings = load_settings(WebhooksSettings)
