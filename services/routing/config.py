"""Routing settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_ROUTING_", extra="ignore")

    service_name: str = "routing"
    # The intent model to load (`make retrain-intents` writes one); the shipped one by default.
    intent_model_path: Path | None = None
    max_batch_texts: int = Field(default=1000, ge=1, le=10_000)


settings = load_settings(RoutingSettings)
