"""Settings: shared SOCIALCARE_* values, per-service overrides, refusal of default secrets."""

from __future__ import annotations

import pytest

from services.gateway.config import GatewaySettings
from services.ingest.config import IngestSettings
from shared.settings import load_settings


def test_shared_values_apply_and_service_prefix_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCARE_DATABASE_URL", "postgresql+asyncpg://app@db/socialcare")
    monkeypatch.setenv("SOCIALCARE_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("SOCIALCARE_GATEWAY_KAFKA_BOOTSTRAP", "other:9092")
    ingest = load_settings(IngestSettings)
    assert ingest.database_url == "postgresql+asyncpg://app@db/socialcare"
    assert ingest.kafka_bootstrap == "kafka:9092"
    assert load_settings(GatewaySettings).kafka_bootstrap == "other:9092"


def test_one_sqlite_file_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCARE_DATABASE_URL", "sqlite+aiosqlite:///data/{service}.db")
    assert load_settings(IngestSettings).database_url == "sqlite+aiosqlite:///data/ingest.db"
    assert load_settings(GatewaySettings).database_url == "sqlite+aiosqlite:///data/gateway.db"


def test_production_refuses_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCARE_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="SOCIALCARE_INTERNAL_SECRET"):
        load_settings(GatewaySettings)
    monkeypatch.setenv("SOCIALCARE_INTERNAL_SECRET", "a-real-secret")
    with pytest.raises(ValueError, match="SOCIALCARE_INGEST_SECRETS_KEY"):
        load_settings(IngestSettings)
    monkeypatch.setenv("SOCIALCARE_INGEST_SECRETS_KEY", "another-real-secret")
    assert load_settings(IngestSettings).environment == "production"
