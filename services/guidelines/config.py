"""Guidelines settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings


class GuidelinesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_GUIDELINES_", extra="ignore")

    service_name: str = "guidelines"
    max_batch_texts: int = Field(default=1000, ge=1)
    # UTF-8 bytes of every text of one batch together: checking costs CPU in proportion (one
    # batch of 150 texts of 60 KB took seconds). 413 past it.
    max_batch_text_bytes: int = Field(default=512 * 1024, ge=1024)
    compiled_cache_size: int = Field(default=256, ge=1)
    # How long a replica trusts its idea of a brand's latest version before asking the database.
    current_version_ttl_seconds: float = Field(default=5.0, ge=0)


settings = load_settings(GuidelinesSettings)
