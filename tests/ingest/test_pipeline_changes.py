"""What a parser reads reaches the events: one record from parser to row, nothing dropped on
the way (the reaction a Meta or WhatsApp webhook names is in `engagement.recorded`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.pipeline import Batch, ConnectionInfo, Job, change_from_parsed
from services.ingest.platforms import parse_meta_payload
from shared.db import create_engine, session_factory
from shared.events.envelope import Envelope
from shared.events.interactions import EngagementRecorded
from shared.migrations import upgrade

FIXTURES = Path(__file__).parent / "fixtures"
CONNECTION = ConnectionInfo(id="conn-1", brand_id="acme", platform="meta", default_lang="es")


def _load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return payload


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    url = f"sqlite+aiosqlite:///{tmp_path}/ingest.db"
    await asyncio.to_thread(upgrade, "ingest", url)
    engine = create_engine(url, schema="ingest")
    async with session_factory(engine)() as session, session.begin():
        yield session
    await engine.dispose()


async def _engagement_events(session: AsyncSession, fixture: str) -> list[EngagementRecorded]:
    result = parse_meta_payload(_load(fixture))
    changes = [change_from_parsed(CONNECTION, item) for item in result.items]
    batch = Batch(session, [Job(changes=changes)])
    await batch.run()
    events = []
    for envelope in batch.envelopes:
        # Through the wire format, as consumers (kpi) read it.
        read = Envelope.from_kafka(*envelope.to_kafka())
        if isinstance(read.data, EngagementRecorded):
            events.append(read.data)
    return events


async def test_a_meta_reaction_keeps_its_reaction_type(session: AsyncSession) -> None:
    events = await _engagement_events(session, "meta_feed_engagement.json")
    assert [(event.kind, event.reaction_type) for event in events] == [
        ("reaction", "love"),
        ("like", None),
        ("like.removed", None),
        ("share", None),
    ]


async def test_a_whatsapp_reaction_keeps_its_emoji(session: AsyncSession) -> None:
    (event,) = await _engagement_events(session, "whatsapp_message_types.json")
    assert (event.kind, event.reaction_type) == ("reaction", "😡")
    assert event.external_id == "wamid.OURREPLY01"


def test_a_change_carries_the_parsed_item_itself() -> None:
    (item, *_rest) = parse_meta_payload(_load("meta_feed_engagement.json")).items
    change = change_from_parsed(CONNECTION, item)
    assert change.item is item
    assert change.delivery_key == (CONNECTION.id, item.external_id, item.dedupe_key)
