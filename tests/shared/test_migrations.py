"""Every service's migrations upgrade an empty database, PostgreSQL and SQLite alike, and
build exactly what its models describe (no drift between a model and its migrations)."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection

from scripts.infra import create_database
from shared.bus.tables import OUTBOX_STORAGE, PENDING_INDEX
from shared.db import create_engine
from shared.migrations import ROOT, SERVICES, alembic_config, context_options, upgrade

MIGRATED = [
    service for service in SERVICES if (ROOT / "services" / service / "migrations").is_dir()
]


def service_metadata(service: str) -> MetaData:
    metadata: MetaData = importlib.import_module(f"services.{service}.models").Base.metadata
    return metadata


def expected_tables(service: str) -> set[str]:
    return {table.name for table in service_metadata(service).sorted_tables}


def drift(connection: Connection, service: str) -> list[Any]:
    """What `alembic revision --autogenerate` would write: empty when migrations match models."""
    options = context_options(service_metadata(service), service, sqlite=False)
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, service_metadata(service)))


def test_every_service_has_migrations() -> None:
    assert set(MIGRATED) == set(SERVICES)


@pytest.mark.integration
@pytest.mark.parametrize("service", MIGRATED)
async def test_upgrade_from_empty_on_postgresql(service: str, postgres_url: str) -> None:
    url = await create_database(postgres_url)
    await asyncio.to_thread(upgrade, service, url)
    await asyncio.to_thread(upgrade, service, url)  # idempotent: already at head
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(
                lambda sync: set(inspect(sync).get_table_names(schema=service))
            )
    finally:
        await engine.dispose()
    assert expected_tables(service) | {"alembic_version"} <= tables


@pytest.mark.integration
@pytest.mark.parametrize("service", MIGRATED)
async def test_migrations_match_the_models_on_postgresql(service: str, postgres_url: str) -> None:
    url = await create_database(postgres_url)
    await asyncio.to_thread(upgrade, service, url)
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(drift, service)
    finally:
        await engine.dispose()
    # Tables, columns, types, nullability, indexes, unique and foreign keys alike.
    assert differences == [], f"{service}: models and migrations differ: {differences}"


@pytest.mark.parametrize("service", MIGRATED)
async def test_upgrade_from_empty_on_sqlite(service: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
    await asyncio.to_thread(upgrade, service, url)
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            # SQLite has no now(): a default written for PostgreSQL only fails every insert.
            defaults = await connection.run_sync(
                lambda sync: {
                    f"{table}.{column['name']}": str(column.get("default"))
                    for table in inspect(sync).get_table_names()
                    for column in inspect(sync).get_columns(table)
                }
            )
    finally:
        await engine.dispose()
    assert expected_tables(service) <= tables
    assert [name for name, value in defaults.items() if "now(" in value.lower()] == []


OUTBOX_SERVICES = [service for service in MIGRATED if "outbox_events" in expected_tables(service)]


async def outbox_indexes(url: str, service: str) -> dict[str, str]:
    """Each index of the service's `outbox_events` with its definition (PostgreSQL)."""
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = :schema AND tablename = 'outbox_events'"
                ),
                {"schema": service},
            )
            return {row.indexname: row.indexdef for row in rows}
    finally:
        await engine.dispose()


def test_every_kafka_service_has_an_outbox() -> None:
    assert set(OUTBOX_SERVICES) == {"guidelines", "ingest", "kpi", "routing", "webhooks"}


# The revision of each service that made the outbox's partial index.
PENDING_INDEX_REVISIONS = {
    "guidelines": "c7a9b1d3e5f6",
    "ingest": "c6f8a0b2d4e5",
    "kpi": "c4d6e8f0a2b3",
    "routing": "c3e5a7b9d1f2",
    "webhooks": "c5e7f9a1b3d4",
}


@pytest.mark.integration
@pytest.mark.parametrize("service", OUTBOX_SERVICES)
async def test_outbox_pending_index_and_autovacuum_on_postgresql(
    service: str, postgres_url: str
) -> None:
    url = await create_database(postgres_url)
    await asyncio.to_thread(upgrade, service, url)
    indexes = await outbox_indexes(url, service)
    # The relay's pending rows come from a partial index of their ids; no index of
    # published_at (each stamp would add an entry to it) is left.
    assert indexes[PENDING_INDEX].endswith("(id) WHERE (published_at IS NULL)")
    assert [name for name, definition in indexes.items() if "published_at)" in definition] == []
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            options = await connection.scalar(
                text(
                    "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = :schema "
                    "AND c.relname = 'outbox_events'"
                ),
                {"schema": service},
            )
    finally:
        await engine.dispose()
    assert set(options) == {f"{name}={value}" for name, value in OUTBOX_STORAGE.items()}

    # One step down from the revision that made it brings the index of published_at back; up
    # again, the partial index.
    config = alembic_config(service, url)
    await asyncio.to_thread(command.downgrade, config, f"{PENDING_INDEX_REVISIONS[service]}-1")
    indexes = await outbox_indexes(url, service)
    assert PENDING_INDEX not in indexes
    assert f"ix_{service}_outbox_events_published_at" in indexes
    await asyncio.to_thread(upgrade, service, url)
    assert PENDING_INDEX in await outbox_indexes(url, service)


@pytest.mark.parametrize("service", OUTBOX_SERVICES)
async def test_outbox_pending_index_on_sqlite(service: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
    await asyncio.to_thread(upgrade, service, url)
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            definition = await connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"),
                {"name": PENDING_INDEX},
            )
    finally:
        await engine.dispose()
    assert definition is not None
    assert " ".join(definition.split()).endswith("(id) WHERE published_at IS NULL")
