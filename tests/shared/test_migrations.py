"""Every service's migrations upgrade an empty database, PostgreSQL and SQLite alike, and
build exactly what its models describe (no drift between a model and its migrations)."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from scripts.infra import create_database
from shared.db import create_engine
from shared.migrations import ROOT, SERVICES, context_options, upgrade

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
