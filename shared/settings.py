"""Settings shared by every service; each service subclasses ServiceSettings with its own prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Self, TypeVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_INTERNAL_SECRET = "local-internal-secret-change-me"  # noqa: S105 - refused outside local


class Environment(StrEnum):
    local = "local"
    test = "test"
    production = "production"


class ServiceSettings(BaseSettings):
    """What every service needs: where its database and Kafka are, and how to trust the gateway.

    Values come from `SOCIALCARE_*` variables (shared by all services) and may be overridden per
    service with that service's prefix, e.g. `SOCIALCARE_INGEST_DATABASE_URL`.
    """

    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_", extra="ignore")

    service_name: str = "service"
    environment: Environment = Environment.local
    # `{service}` is replaced by the service name: one SQLite file (or one schema) per service.
    database_url: str = "sqlite+aiosqlite:///.run/local/{service}.db"
    # PostgreSQL connection pool of each process: kept connections, extra ones under load, and
    # how long a request waits for one before it fails (size it against the server's
    # max_connections divided by the replicas; the outbox relay and schedulers hold one each).
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=20, ge=0, le=500)
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_enabled: bool = True
    # Start-up creates missing topics (local and test). In production topics are declared by
    # the platform (Strimzi KafkaTopic or the cluster's owners): set this to false there.
    kafka_create_topics: bool = True
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_topic_replication_factor: int = Field(default=1, ge=1)
    # How long the producer waits to fill a batch: more throughput per CPU, that much latency.
    kafka_linger_ms: int = Field(default=2, ge=0, le=1000)
    internal_secret: SecretStr = SecretStr(LOCAL_INTERNAL_SECRET)
    # How long a signed principal header stays valid after the gateway issued it, and how far
    # in the future its time may be (clock skew between pods). Short: a captured header must
    # be of no use (it is also bound to one service, method, path, query and body).
    principal_max_age_seconds: int = Field(default=30, ge=1, le=300)
    principal_max_skew_seconds: int = Field(default=5, ge=0, le=60)
    log_level: str = "INFO"
    log_json: bool = True
    consumers_enabled: bool = True
    outbox_poll_interval_seconds: float = Field(default=0.2, gt=0)
    # Rows the outbox relay publishes per pass (one read, one send, one stamp): a consumer's
    # poll of 500 interactions stages 1,500 case events, which then leave in one pass.
    outbox_batch_size: int = Field(default=2000, ge=1, le=10_000)
    # A producer batch unacknowledged this long retires the Kafka client for a fresh one
    # (shared/bus/producer.py); readiness turns false once one has waited
    # `kafka_unready_after_seconds`, and while the client is being replaced.
    kafka_producer_stall_seconds: float = Field(default=15.0, gt=0, le=300)
    kafka_unready_after_seconds: float = Field(default=5.0, gt=0, le=300)
    # Readiness turns false when the outbox relay has had no successful pass for this long.
    outbox_stall_seconds: float = Field(default=30.0, gt=0)
    # Retention (shared/bus/retention.py): published outbox rows, and the consumers' dedupe log
    # (keep it longer than the topics keep their records: an older redelivery is handled again).
    outbox_retention_hours: float = Field(default=72, gt=0)
    processed_events_retention_hours: float = Field(default=168, gt=0)
    retention_purge_interval_seconds: float = Field(default=3600, gt=0)
    # Ceiling on any request body (413 past it; routes may set lower limits of their own).
    max_request_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if "{service}" in self.database_url:
            # Through __dict__: an attribute assignment would count as "set explicitly" and
            # stop load_settings from applying the shared SOCIALCARE_DATABASE_URL.
            self.__dict__["database_url"] = self.database_url.replace(
                "{service}", self.service_name
            )
        if (
            self.environment == Environment.production
            and self.internal_secret.get_secret_value() == LOCAL_INTERNAL_SECRET
        ):
            raise ValueError("SOCIALCARE_INTERNAL_SECRET must be set outside local mode")
        return self

    @property
    def schema_name(self) -> str:
        """The service's own PostgreSQL schema (SQLite has none: one file per service)."""
        return self.service_name


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
_NOT_INHERITED = frozenset({"service_name"})


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Read a service's settings: its own prefix first, then the shared `SOCIALCARE_*` values."""
    shared = ServiceSettings(service_name=settings_class.model_fields["service_name"].default)
    specific = settings_class()
    inherited = {
        name: getattr(shared, name)
        for name in shared.model_fields_set
        if name not in specific.model_fields_set and name not in _NOT_INHERITED
    }
    return settings_class(**inherited) if inherited else specific
