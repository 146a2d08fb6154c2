"""Ingest settings."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import Environment, ServiceSettings, load_settings

LOCAL_SECRETS_KEY = "local-ingest-secrets-key-change-me"  # noqa: S105 - refused outside local


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_INGEST_", extra="ignore")

    service_name: str = "ingest"
    # Encrypts platform secrets at rest (Fernet key derived from it).
    secrets_key: SecretStr = SecretStr(LOCAL_SECRETS_KEY)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # A webhook waits this long for Kafka's acknowledgement, then is answered 503 + Retry-After
    # (platforms give up on a callback after a few seconds, and retry).
    webhook_ack_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_batch_items: int = Field(default=1000, ge=1)
    raw_retention_days: int = Field(default=30, ge=0)
    # After a rotation the previous platform secret stays valid this long.
    secret_rotation_grace_seconds: int = Field(default=24 * 3600, ge=0)
    idempotency_retention_hours: int = Field(default=24, ge=1)
    # Webhook dedupe keys (source, external id, change) are kept this long: keep it above the
    # platforms' redelivery window, or a late redelivery makes its event again.
    delivery_keys_retention_hours: float = Field(default=168, gt=0)
    # X's CRC checks answered per connection and minute (X sends one on registration, then
    # hourly, and on a manual re-validation).
    crc_limit_per_minute: int = Field(default=20, ge=1)
    # How long a replica trusts a cached connection (changes here apply at once).
    connection_cache_seconds: float = Field(default=5.0, ge=0)
    # At most this many webhooks per worker poll, written in one transaction. A poll takes what
    # has arrived, so this bounds only a backlog. Draining one ran 650/s at 64, 1,190/s at 500
    # and 1,400/s at 1,000 (bench/ingest.py's worker process, start-up included); but with the
    # web tier in the same process (the default), 500 doubled its p99 at 200 webhooks/s while a
    # backlog drained (12 -> 20 ms). Dedicated workers should set 500.
    webhook_worker_batch: int = Field(default=64, ge=1, le=1000)

    # Sending replies on the platforms (services/ingest/sending). Base URLs include the API
    # version where the platform puts it in the path.
    send_meta_graph_url: str = "https://graph.facebook.com/v21.0"
    send_x_api_url: str = "https://api.x.com"
    # Connecting may be retried safely; once the request is written, waiting longer than
    # send_timeout_seconds makes the outcome unknown (never blindly repeated).
    send_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    send_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    send_max_attempts: int = Field(default=6, ge=1, le=50)
    send_backoff_base_seconds: float = Field(default=2.0, gt=0)
    send_backoff_max_seconds: float = Field(default=600.0, gt=0)
    # Messenger, Instagram Direct and WhatsApp free-form replies: only this long after the
    # customer's last message.
    send_window_hours: float = Field(default=24.0, gt=0)
    send_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    send_concurrency: int = Field(default=8, ge=1, le=256)
    # Finished sends are kept this long (their send_id dedupes late duplicates): keep it above
    # the topic's retention.
    sends_retention_days: float = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _refuse_default_secrets_key(self) -> IngestSettings:
        if (
            self.environment == Environment.production
            and self.secrets_key.get_secret_value() == LOCAL_SECRETS_KEY
        ):
            raise ValueError("SOCIALCARE_INGEST_SECRETS_KEY must be set outside local mode")
        return self


settings = load_settings(IngestSettings)
