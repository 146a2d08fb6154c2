"""The rollups table's storage on PostgreSQL: pages filled to 70%, so that the fold's updates of
rollup rows stay on their page (HOT updates, no new primary-key entry); its migration goes down
and up again."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import text

from scripts.infra import create_database
from services.kpi.rollups.models import ROLLUPS_STORAGE
from shared.db import create_engine
from shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration


async def rollups_options(url: str) -> set[str]:
    engine = create_engine(url, schema="kpi")
    try:
        async with engine.connect() as connection:
            options = await connection.scalar(
                text(
                    "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = 'kpi' AND c.relname = 'rollups'"
                )
            )
    finally:
        await engine.dispose()
    return set(options or ())


async def test_rollups_pages_keep_room_for_updates(postgres_url: str) -> None:
    url = await create_database(postgres_url)
    await asyncio.to_thread(upgrade, "kpi", url)
    assert await rollups_options(url) == {
        f"{name}={value}" for name, value in ROLLUPS_STORAGE.items()
    }
    config = alembic_config("kpi", url)
    await asyncio.to_thread(command.downgrade, config, "-1")
    assert await rollups_options(url) == set()
    await asyncio.to_thread(upgrade, "kpi", url)
    assert await rollups_options(url) == {"fillfactor=70"}
