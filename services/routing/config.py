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
    # A resolved case reopens on a customer's new message within this many hours; later, the
    # message opens a new case.
    case_reopen_window_hours: float = Field(default=72.0, ge=0, le=24 * 365)
    # Interactions per poll of the case intake (one transaction).
    case_intake_batch: int = Field(default=500, ge=1, le=5000)
    # Classify the intake's large polls in a process of its own (intents/worker.py), started on
    # the first such poll; false keeps all classification in the consumer's process.
    intent_worker: bool = True
    # How often the case scheduler checks SLA clocks, the assignment queue and absent assignees.
    case_scheduler_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    case_scheduler_enabled: bool = True
    # The guidelines service's check API (canned replies are checked when saved; replies when
    # drafted), called with the internal secret's signed principal header.
    guidelines_url: str = "http://127.0.0.1:8083"
    guidelines_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Give each brand the default canned replies (`canned/defaults.py`) on its first use.
    canned_defaults: bool = True
    # How long the answer of a POST with an Idempotency-Key is kept for its retries.
    idempotency_retention_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # A delivery report on a message no reply of ours names is kept this long for the send's
    # outcome to arrive (ingest retries a send for minutes, not days), then purged.
    pending_delivery_retention_hours: float = Field(default=72.0, gt=0, le=24 * 30)


settings = load_settings(RoutingSettings)
