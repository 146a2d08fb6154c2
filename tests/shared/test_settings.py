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


def test_the_outbox_relay_batch_is_a_setting_with_room_for_a_full_intake_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.routing.config import RoutingSettings

    routing = load_settings(RoutingSettings)
    # A poll of the case intake stages three events per new case: one relay pass takes them.
    assert routing.outbox_batch_size >= 3 * routing.case_intake_batch
    monkeypatch.setenv("SOCIALCARE_OUTBOX_BATCH_SIZE", "300")
    assert load_settings(IngestSettings).outbox_batch_size == 300
    monkeypatch.setenv("SOCIALCARE_OUTBOX_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="outbox_batch_size"):
        load_settings(IngestSettings)
