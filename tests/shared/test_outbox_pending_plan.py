"""The relay's pending query on PostgreSQL reads the partial index of unpublished ids, however
many published rows the outbox holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.outbox import pending_batch
from shared.bus.tables import PENDING_INDEX, BusTables, define_bus_tables
from shared.db import NAMING_CONVENTION

pytestmark = pytest.mark.integration

PUBLISHED = 20_000
PENDING = 50


def plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(child for sub in node.get("Plans", []) for child in plan_nodes(sub))]


async def outbox_with_backlog(engine: AsyncEngine) -> BusTables:
    """An outbox like a relay's after a while: rows inserted pending, most then stamped
    published (each stamp leaves a dead version behind), the newest still pending."""
    metadata = MetaData(schema="public", naming_convention=NAMING_CONVENTION)
    tables = define_bus_tables(metadata)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(
            text(
                "INSERT INTO outbox_events (event_id, topic, key, value, headers) "
                "SELECT 'e-' || n, 'socialcare.cases', 'thread-' || n, '\\x00'::bytea, '[]' "
                "FROM generate_series(1, :rows) AS n"
            ),
            {"rows": PUBLISHED + PENDING},
        )
        await connection.execute(
            text(
                "UPDATE outbox_events SET published_at = now(), partition = 0, "
                '"offset" = id WHERE id <= :published'
            ),
            {"published": PUBLISHED},
        )
    return tables


async def explain(engine: AsyncEngine, tables: BusTables) -> dict[str, Any]:
    query = pending_batch(tables.outbox, 200).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with engine.connect() as connection:
        raw = await connection.scalar(text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}"))
    document = json.loads(raw) if isinstance(raw, str) else raw
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


@pytest.mark.parametrize("maintenance", ["VACUUM", "VACUUM ANALYZE"])
async def test_pending_rows_come_from_the_partial_index(
    pg_engine: AsyncEngine, maintenance: str
) -> None:
    tables = await outbox_with_backlog(pg_engine)
    # Until autovacuum comes by, the index still points at the stamped rows' old versions
    # (hence the outbox's own autovacuum settings); with or without column statistics after.
    async with pg_engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(f"{maintenance} outbox_events"))
    plan = await explain(pg_engine, tables)
    nodes = plan_nodes(plan)
    assert [node.get("Index Name") for node in nodes if "Index Name" in node] == [PENDING_INDEX]
    assert "Seq Scan" not in [node["Node Type"] for node in nodes]
    assert plan["Actual Rows"] == PENDING
    # The backlog's own pages, not the published rows': an index page or two and the 50 rows.
    touched = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    assert touched < 20, touched
