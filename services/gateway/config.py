"""Gateway settings: where each service listens, and how API keys are limited."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.http import IDLE_CONNECTION_SECONDS
from shared.settings import ServiceSettings, load_settings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIALCARE_GATEWAY_", extra="ignore", populate_by_name=True
    )

    service_name: str = "gateway"
    kafka_enabled: bool = False  # the gateway owns no events
    admin_key: SecretStr | None = Field(default=None, validation_alias="SOCIALCARE_ADMIN_KEY")
    # Without an admin key configured, the one the gateway generates is written here (mode
    # 0600) as well as shown once on stderr.
    admin_key_file: Path | None = None
    ingest_url: str = "http://127.0.0.1:8081"
    routing_url: str = "http://127.0.0.1:8082"
    guidelines_url: str = "http://127.0.0.1:8083"
    kpi_url: str = "http://127.0.0.1:8084"
    webhooks_url: str = "http://127.0.0.1:8085"
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    upstream_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    # How long an idle pooled connection to a service is kept. It must stay below the services'
    # own keep-alive (uvicorn closes idle connections after 5 s): otherwise a request sent on a
    # connection the service is just closing fails with "server disconnected", and a POST
    # cannot be retried safely.
    upstream_keepalive_seconds: float = Field(default=IDLE_CONNECTION_SECONDS, gt=0, lt=5.0)
    default_rate_limit_per_minute: int = Field(default=6000, ge=1)
    # Platform webhooks carry their own signatures. Each connection has its own bucket, so
    # traffic to one (or to ids that do not exist) never throttles another; the global ceiling
    # only bounds what all of them together can send to ingest.
    webhook_rate_limit_per_minute: int = Field(default=6000, ge=1)
    public_rate_limit_per_minute: int = Field(default=120000, ge=1)
    # Requests with an unknown or revoked key, per client address, before 429s start.
    failed_key_limit_per_minute: int = Field(default=60, ge=1)
    # Bodies of authenticated requests are read whole to sign their digest (webhooks stream).
    max_request_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    key_cache_seconds: float = Field(default=30.0, ge=0)
    openapi_cache_seconds: float = Field(default=60.0, ge=0)

    def upstreams(self) -> dict[str, str]:
        return {
            "ingest": self.ingest_url,
            "routing": self.routing_url,
            "guidelines": self.guidelines_url,
            "kpi": self.kpi_url,
            "webhooks": self.webhooks_url,
        }


settings = load_settings(GatewaySettings)
