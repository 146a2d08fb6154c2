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
from shared.events.interactions import DeliveryStatus, EngagementRecorded
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


async def _delivery_events(session: AsyncSession, payload: dict[str, Any]) -> list[Envelope]:
    result = parse_meta_payload(payload)
    changes = [change_from_parsed(CONNECTION, item) for item in result.items]
    batch = Batch(session, [Job(changes=changes)])
    await batch.run()
    return [
        read
        for read in (Envelope.from_kafka(*envelope.to_kafka()) for envelope in batch.envelopes)
        if read.type == "interaction.delivery_status"
    ]


async def test_messenger_receipts_become_delivery_reports_and_a_later_watermark_is_new(
    session: AsyncSession,
) -> None:
    payload = _load("meta_receipts.json")
    events = await _delivery_events(session, payload)

    reports = [event.data for event in events if isinstance(event.data, DeliveryStatus)]
    assert len(reports) == len(events)
    assert [(r.status, r.external_id, r.watermark is not None) for r in reports] == [
        ("delivered", "m_AbCdEf0123456789-3", False),
        ("delivered", "m_AbCdEf0123456789-4", False),
        ("delivered", "watermark:3141592653589793:1795474000350", True),
        ("read", "watermark:3141592653589793:1795474000353", True),
    ]
    read = reports[3]
    assert read.watermark is not None
    assert read.watermark.isoformat() == "2026-11-23T22:46:40.353000+00:00"
    assert read.account_external_id == "104857600012345"
    assert read.thread_external_id == "3141592653589793"
    assert {event.key for event in events} == {"acme:messenger:3141592653589793"}
    # Meta's example delivery has no timestamp: the report is dated when it arrived.
    assert reports[2].occurred_at > reports[1].occurred_at

    # The same body again: all duplicates. A later read watermark: one new report.
    assert await _delivery_events(session, payload) == []
    payload["entry"][0]["messaging"][2]["read"]["watermark"] = 1795474000900
    (later,) = await _delivery_events(session, payload)
    assert isinstance(later.data, DeliveryStatus)
    assert later.data.status == "read"
    assert later.data.external_id == "watermark:3141592653589793:1795474000900"


def test_a_change_carries_the_parsed_item_itself() -> None:
    (item, *_rest) = parse_meta_payload(_load("meta_feed_engagement.json")).items
    change = change_from_parsed(CONNECTION, item)
    assert change.item is item
    assert change.delivery_key == (CONNECTION.id, item.external_id, item.dedupe_key)
