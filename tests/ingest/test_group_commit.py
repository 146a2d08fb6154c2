"""The group-commit writer: shared batches, and a bad job isolated from its neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.ingest.models import InteractionRecord, bus_tables
from services.ingest.pipeline import Change, ConnectionInfo, GroupCommitWriter, Job
from shared.db import create_engine, session_factory
from shared.events.interactions import Author, Channel, InteractionKind
from shared.migrations import upgrade

CONNECTION = ConnectionInfo(id="conn-1", brand_id="acme", platform="meta", default_lang="es")


def comment(
    external_id: str, text: str, *, kind: InteractionKind | None = InteractionKind.comment
) -> Change:
    return Change(
        source=CONNECTION.id,
        dedupe_key="comment.add",
        change="received",
        brand_id="acme",
        connection_id=CONNECTION.id,
        channel=Channel.facebook,
        external_id=external_id,
        thread_external_id="post-1",
        kind=kind,
        author=Author(display_name="Lucía"),
        text=text,
        lang="es",
        created_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        from_platform=True,
    )


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[GroupCommitWriter]:
    url = f"sqlite+aiosqlite:///{tmp_path}/ingest.db"
    await asyncio.to_thread(upgrade, "ingest", url)
    engine = create_engine(url, schema="ingest")
    committed: list[int] = []
    writer = GroupCommitWriter(session_factory(engine), on_committed=lambda: committed.append(1))
    writer.start()
    yield writer
    await writer.stop()
    await engine.dispose()


async def test_jobs_waiting_together_share_one_batch_and_a_bad_one_is_isolated(
    writer: GroupCommitWriter,
) -> None:
    good = [Job(changes=[comment(f"c-{index}", "¡Gracias por la ayuda!")]) for index in range(5)]
    bad = Job(changes=[comment("c-bad", "sin tipo", kind=None)])
    results = await asyncio.gather(
        *(writer.submit(job) for job in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    assert isinstance(results[2], AssertionError)
    accepted = [result for index, result in enumerate(results) if index != 2]
    assert all(not isinstance(result, BaseException) for result in accepted)
    assert [result.outcomes[0][0] for result in accepted] == ["accepted"] * 5  # type: ignore[union-attr]
    async with writer.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(InteractionRecord))
        staged = await session.scalar(select(func.count()).select_from(bus_tables.outbox))
    assert stored == 5
    assert staged == 5

    again = await writer.submit(Job(changes=[comment("c-0", "¡Gracias por la ayuda!")]))
    assert again.outcomes == [("duplicate", None)]
    assert again.published == 0
