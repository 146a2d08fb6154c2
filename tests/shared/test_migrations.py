"""Every service's migrations upgrade an empty database, PostgreSQL and SQLite alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect

from scripts.infra import create_database
from shared.db import create_engine
from shared.migrations import ROOT, SERVICES, upgrade

MIGRATED = [
    service for service in SERVICES if (ROOT / "services" / service / "migrations").is_dir()
]


def expected_tables(service: str) -> set[str]:
    import importlib

    models = importlib.import_module(f"services.{service}.models")
    return {table.name for table in models.Base.metadata.sorted_tables}


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


@pytest.mark.parametrize("service", MIGRATED)
async def test_upgrade_from_empty_on_sqlite(service: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
    await asyncio.to_thread(upgrade, service, url)
    engine = create_engine(url, schema=service)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert expected_tables(service) <= tables
