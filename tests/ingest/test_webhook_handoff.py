"""From web tier to worker, a webhook's verified bytes travel once, untouched (the record's
value is the body itself), and the worker neither loads the connection again nor parses the
body more than once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.ingest import handlers
from services.ingest.models import InteractionRecord, RawPayload
from services.ingest.platforms import load_payload
from shared.db import create_engine, session_factory
from shared.events.envelope import Envelope
from shared.events.ingest import WebhookReceived
from shared.migrations import upgrade

PAGE_ID = "448"
# Pretty-printed, with escapes and non-ASCII text: bytes a re-encoding would change.
BODY = json.dumps(
    {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": 1763800000,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "comment",
                            "verb": "add",
                            "post_id": f"{PAGE_ID}_1",
                            "comment_id": f"{PAGE_ID}_1_2",
                            "from": {"id": "9001", "name": "Lucía"},
                            "message": 'Dijo "¿abrís el domingo?" \\o/',
                            "created_time": 1763800000,
                        },
                    }
                ],
            }
        ],
    },
    indent=2,
).encode()


def webhook(**values: Any) -> WebhookReceived:
    return WebhookReceived(
        connection_id="5d0c6c1e-7f1a-4a57-9d2a-5f3f2b3c4d5e",
        platform="meta",
        received_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        body=BODY,
        **values,
    )


def as_record(envelope: Envelope) -> Envelope:
    return Envelope.from_kafka(*envelope.to_kafka())


def test_the_record_value_is_the_verified_body_byte_for_byte() -> None:
    envelope = Envelope(
        type="ingest.webhook_received",
        source="/socialcare/ingest",
        key="k",
        data=webhook(brand_id="acme", default_lang="es", account_ids=[PAGE_ID]),
    )
    _key, value, headers = envelope.to_kafka()
    assert value == BODY
    read = Envelope.from_kafka(b"k", value, headers)
    assert isinstance(read.data, WebhookReceived)
    assert read.data == envelope.data
    assert read.data.body == BODY
    assert read.extensions == {}  # the payload's attributes are its fields, not extensions


def test_records_written_before_still_read() -> None:
    old_value = json.dumps(
        {
            "connection_id": "c-1",
            "platform": "meta",
            "received_at": "2026-11-20T10:00:00Z",
            "body": BODY.decode(),
        }
    ).encode()
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"1"),
        ("ce_type", b"ingest.webhook_received"),
        ("ce_source", b"/socialcare/ingest"),
        ("content-type", b"application/json"),
    ]
    read = Envelope.from_kafka(b"c-1", old_value, headers)
    assert isinstance(read.data, WebhookReceived)
    assert read.data.body == BODY
    assert read.data.brand_id is None


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path}/ingest.db"
    await asyncio.to_thread(upgrade, "ingest", url)
    engine = create_engine(url, schema="ingest")
    yield engine
    await engine.dispose()


async def test_the_worker_needs_no_connection_lookup_and_parses_once(engine: AsyncEngine) -> None:
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: statements.append(statement),
    )
    data = webhook(brand_id="acme", default_lang="es", account_ids=[PAGE_ID])
    envelope = as_record(
        Envelope(type="ingest.webhook_received", source="/socialcare/ingest", key="k", data=data)
    )
    sessions = session_factory(engine)
    with mock.patch.object(handlers, "load_payload", wraps=load_payload) as parse:
        async with sessions() as session, session.begin():
            await handlers.handle_webhooks(session, [envelope], retention_days=7)
    assert parse.call_count == 1
    assert not [sql for sql in statements if "connections" in sql]
    async with sessions() as session:
        assert await _count(session, InteractionRecord) == 1
        archived = await session.scalar(select(RawPayload.body))
    assert archived == BODY


async def _count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)
