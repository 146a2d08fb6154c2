"""Webhooks settings."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings

# Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 28 hours of attempts.
DEFAULT_RETRY_SCHEDULE = [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]


class WebhooksSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_WEBHOOKS_", extra="ignore")

    service_name: str = "webhooks"
    # The Kafka consumer group every replica joins.
    consumer_group: str = "webhooks-deliveries"
    # Encrypts the endpoints' signing secrets at rest (Fernet key derived from it). Unset, it
    # is derived from the internal secret (refused at its default outside local mode); set it
    # on its own so that rotating the internal secret leaves stored secrets readable.
    secrets_key: SecretStr | None = None
    # Seconds before each attempt, counted from the previous one (the first from the event).
    retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE), min_length=1, max_length=20
    )
    # Each delay is moved by up to this share either way, so retries of many deliveries spread.
    retry_jitter: float = Field(default=0.1, ge=0, le=0.5)
    # A Retry-After longer than this is cut to it.
    max_retry_after_seconds: float = Field(default=36000.0, gt=0)
    request_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # An endpoint whose deliveries have all failed for this long is disabled.
    disable_after_failing_seconds: float = Field(default=5 * 24 * 3600.0, gt=0)
    # Deliveries in flight at once: per endpoint (one slow receiver holds only its own), and
    # per replica in all.
    max_in_flight_per_endpoint: int = Field(default=8, ge=1, le=200)
    max_in_flight: int = Field(default=400, ge=1, le=10000)
    # Attempts a replica starts per second in all, beside each endpoint's own limit (None: no
    # limit; the service's rate is this times the replicas).
    max_attempts_per_second: int | None = Field(default=None, ge=1)
    # A claimed delivery belongs to its replica this long (past the timeout): a replica that
    # dies mid-attempt leaves it to the others after that.
    claim_lease_seconds: float = Field(default=60.0, gt=0)
    # How often the dispatcher looks for due deliveries when nothing woke it.
    dispatch_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # How long a replica trusts its copy of the endpoints (changes made here apply at once).
    endpoint_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    # How long a checked DNS answer is reused (the checked address is what is connected to).
    dns_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    # Networks a delivery may reach although they are loopback, private or link-local
    # (local development and tests), e.g. ["127.0.0.1/32"]. Empty in production.
    ssrf_allowlist: list[str] = Field(default_factory=list)
    # The previous secret keeps signing this long after a rotation, unless the call says.
    secret_rotation_overlap_seconds: int = Field(default=24 * 3600, ge=0, le=30 * 24 * 3600)
    # Events, deliveries and attempts are deleted this long after the event.
    delivery_retention_days: float = Field(default=30, gt=0)
    # Answers stored for an Idempotency-Key are replayed this long.
    idempotency_retention_hours: int = Field(default=24, ge=1)
    # Largest replay of a time range, in events.
    max_replay_events: int = Field(default=10000, ge=1)

    @field_validator("ssrf_allowlist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    def secrets_key_materials(self) -> list[str]:
        """The key that seals endpoint secrets first, then the one it replaces: the key derived
        from the internal secret, which sealed them while `secrets_key` was unset."""
        derived = "socialcare.webhooks.secrets:" + self.internal_secret.get_secret_value()
        if self.secrets_key is not None:
            return [self.secrets_key.get_secret_value(), derived]
        return [derived]


settings = load_settings(WebhooksSettings)
