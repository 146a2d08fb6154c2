"""The group-commit writer: shared batches, and a bad job isolated from its neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.ingest.models import InteractionRecord, bus_tables
from services.ingest.pipeline import (
    Change,
    ConnectionInfo,
    GroupCommitWriter,
    IncompleteChangeError,
    Job,
    change_from_parsed,
)
from services.ingest.platforms import ParsedItem
from shared.db import create_engine, session_factory
from shared.events.interactions import Author, Channel, InteractionKind
from shared.migrations import upgrade

CONNECTION = ConnectionInfo(id="conn-1", brand_id="acme", platform="meta", default_lang="es")


def comment(
    external_id: str, text: str, *, kind: InteractionKind | None = InteractionKind.comment
) -> Change:
    item = ParsedItem(
        change="received",
        change_kind="comment.add",
        channel=Channel.facebook,
        account_external_id=None,
        external_id=external_id,
        thread_external_id="post-1",
        kind=kind,
        author=Author(display_name="Lucía"),
        text=text,
        created_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    )
    change = change_from_parsed(CONNECTION, item)
    change.lang = "es"
    return change


@dataclass
class Writer:
    writer: GroupCommitWriter
    commits: list[int]  # one entry per committed transaction


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[Writer]:
    url = f"sqlite+aiosqlite:///{tmp_path}/ingest.db"
    await asyncio.to_thread(upgrade, "ingest", url)
    engine = create_engine(url, schema="ingest")
    commits: list[int] = []
    group_writer = GroupCommitWriter(
        session_factory(engine), on_committed=lambda: commits.append(1)
    )
    group_writer.start()
    yield Writer(group_writer, commits)
    await group_writer.stop()
    await engine.dispose()


async def test_jobs_waiting_together_share_one_batch_and_a_bad_one_is_isolated(
    writer: Writer,
) -> None:
    together = [Job(changes=[comment(f"t-{index}", "¡Qué rápido!")]) for index in range(4)]
    shared = await asyncio.gather(*(writer.writer.submit(job) for job in together))
    assert [result.outcomes[0][0] for result in shared] == ["accepted"] * 4
    assert len(writer.commits) == 1  # four requests, one transaction

    good = [Job(changes=[comment(f"c-{index}", "¡Gracias por la ayuda!")]) for index in range(5)]
    bad = Job(changes=[comment("c-bad", "sin tipo", kind=None)])
    results = await asyncio.gather(
        *(writer.writer.submit(job) for job in [*good[:2], bad, *good[2:]]),
        return_exceptions=True,
    )
    assert isinstance(results[2], IncompleteChangeError)
    accepted = [result for index, result in enumerate(results) if index != 2]
    assert all(not isinstance(result, BaseException) for result in accepted)
    assert [result.outcomes[0][0] for result in accepted] == ["accepted"] * 5  # type: ignore[union-attr]
    # The shared batch failed, so each job was retried alone: five more commits, none for the
    # bad one.
    assert len(writer.commits) == 1 + 5
    async with writer.writer.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(InteractionRecord))
        staged = await session.scalar(select(func.count()).select_from(bus_tables.outbox))
    assert stored == 4 + 5
    assert staged == 4 + 5

    again = await writer.writer.submit(Job(changes=[comment("c-0", "¡Gracias por la ayuda!")]))
    assert again.outcomes == [("duplicate", None)]
    assert again.published == 0
    assert len(writer.commits) == 1 + 5 + 1
