"""The intake's per-poll lookups (the cases of a poll's threads, the messages of its
interactions) keep to their indexes in the plan PostgreSQL caches for a connection.

A connection plans a prepared statement again for its first five executions, then settles on
one generic plan, made while the tables are whatever size they are then and kept as they grow.
These tests build that generic plan over the tables of an early poll and check it uses the
index rather than reading the whole table, which a later poll (20,000 cases, bench/routing.py)
would pay on every poll."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.routing.cases import repository
from services.routing.cases.models import Case, CaseMessage
from shared.db import create_engine, session_factory
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

ROWS = 2_500  # cases and messages when a connection's sixth poll of 500 fixes its plans
POLL = 500
NOW = datetime(2026, 12, 1, 11, tzinfo=UTC)

Lookup = Callable[[AsyncSession, list[str]], Awaitable[Any]]
LOOKUPS: dict[str, tuple[Lookup, str, str]] = {
    "latest_cases": (repository.latest_cases, "cases", "t-"),
    "messages_by_interaction": (repository.messages_by_interaction, "case_messages", "i-"),
}


@pytest.fixture
async def routing_engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, "routing", fresh_database)
    engine = create_engine(fresh_database, schema="routing")
    try:
        yield engine
    finally:
        await engine.dispose()


async def seed(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session, session.begin():
        for n in range(ROWS):
            case_id = str(uuid.uuid4())
            session.add(
                Case(
                    id=case_id,
                    brand_id="brand",
                    thread_key=f"t-{n}",
                    channel="facebook",
                    status="open",
                    priority="normal",
                    first_inbound_at=NOW,
                    last_inbound_at=NOW,
                    opened_at=NOW,
                )
            )
            session.add(
                CaseMessage(
                    id=str(uuid.uuid4()),
                    case_id=case_id,
                    interaction_id=f"i-{n}",
                    direction="inbound",
                    text="hola",
                    created_at=NOW,
                )
            )


def literal(value: object) -> str:
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(literal(item) for item in value) + "]::varchar[]"
    return "'" + str(value).replace("'", "''") + "'"


def scans(node: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(node["Node Type"], node.get("Relation Name", ""))]
    for child in node.get("Plans", []):
        found.extend(scans(child))
    return found


@pytest.mark.parametrize("name", sorted(LOOKUPS))
async def test_the_cached_generic_plan_uses_the_index(
    routing_engine: AsyncEngine, name: str
) -> None:
    lookup, table, prefix = LOOKUPS[name]
    await seed(routing_engine)
    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if f"FROM routing.{table}" in statement:
            statements.append((statement, parameters))

    event.listen(routing_engine.sync_engine, "before_cursor_execute", capture)
    # A poll's keys: 500 threads, some known and some new.
    keys = [f"{prefix}{n}" for n in range(ROWS - POLL // 2, ROWS + POLL // 2)]
    async with session_factory(routing_engine)() as session:
        found = await lookup(session, keys)
    event.remove(routing_engine.sync_engine, "before_cursor_execute", capture)
    assert len(found) == POLL // 2
    [(statement, parameters)] = statements

    async with routing_engine.connect() as connection:
        await connection.exec_driver_sql(f"PREPARE lookup AS {statement}")
        await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        arguments = ", ".join(literal(value) for value in parameters)
        result = await connection.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) EXECUTE lookup({arguments})"
        )
        raw = result.scalar_one()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    on_table = [node for node, relation in scans(plan) if relation == table]
    assert on_table, plan
    assert "Seq Scan" not in on_table, plan
