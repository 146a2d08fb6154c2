"""Platform ids longer than ingest can store (`MAX_PLATFORM_ID`) are refused at ingest's edge.

A webhook item with one is reported (`socialcare_ingest_unknown_parts_total`) and skipped, and
the other items of the same body are ingested (on PostgreSQL, whose columns hold 200
characters, a longer id would fail the whole poll, and the poll would be retried). An id of
exactly the limit is stored, and so are the names ingest builds from one (watermark reports,
dedupe keys). Over REST, the item or the parameter is refused naming the field and the limit.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest import handlers
from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from services.ingest.models import MAX_DEDUPE_KEY, DeliveryKey, InteractionRecord, bus_tables
from services.ingest.pipeline.changes import bounded_dedupe_key
from services.ingest.platforms.base import report_name
from shared.db import create_engine, session_factory
from shared.events.envelope import Envelope
from shared.events.ingest import WebhookReceived
from shared.events.interactions import MAX_PLATFORM_ID
from shared.migrations import upgrade
from tests.conftest import serve
from tests.fixtures.services import migrated_database
from tests.ingest.test_ingest_bad_input import SECRET, WRITER, Ingest, item, problem

pytestmark = pytest.mark.integration

SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "webhooks"
LOCAL_FIXTURES = Path(__file__).parent / "fixtures"
PAGE_ID = "1234567890321"
X_ACCOUNT = "2244994945"
EXACTLY = MAX_PLATFORM_ID
TOO_LONG = MAX_PLATFORM_ID + 1


def _fixture(name: str) -> dict[str, Any]:
    """The shared example body when it is there, else the project's own body of the same
    documented shape and ids (a clone has no ../shared)."""
    shared = SHARED_FIXTURES / name
    path = shared if shared.exists() else LOCAL_FIXTURES / name
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_the_projects_own_bodies_are_there_for_a_clone() -> None:
    for name in ("meta_page_feed_comment.json", "x_account_activity_mention.json"):
        assert (LOCAL_FIXTURES / name).is_file(), name


def _long_id(prefix: str, length: int) -> str:
    return (prefix + "9" * length)[:length]


@pytest.fixture(scope="module")
async def ingest(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Ingest]:
    database = await migrated_database(postgres_url, "ingest")
    settings = IngestSettings(
        database_url=database, kafka_bootstrap=kafka_bootstrap, internal_secret=SecretStr(SECRET)
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(timeout=60) as client:
        yield Ingest(url, client)


@pytest.fixture
async def engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, "ingest", fresh_database)
    engine = create_engine(fresh_database, schema="ingest")
    yield engine
    await engine.dispose()


@pytest.fixture
def fresh_unknown_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    # The counter keeps its first 200 labels apart (the rest are "other"): earlier tests of
    # the run may have used them up.
    monkeypatch.setattr(handlers, "_unknown_labels", set())


def _unknown_count(platform: str, label: str) -> float:
    value = REGISTRY.get_sample_value(
        "socialcare_ingest_unknown_parts_total", {"platform": platform, "label": label}
    )
    return value or 0.0


async def _ingest_webhook(
    engine: AsyncEngine, platform: str, body: dict[str, Any], accounts: list[str]
) -> tuple[set[str], list[dict[str, Any]], set[tuple[str, str]]]:
    """Run the webhook worker over one delivery, as the consumer does; return the stored
    interactions' external ids, the staged events and the claimed delivery keys."""
    data = WebhookReceived(
        connection_id="5d0c6c1e-7f1a-4a57-9d2a-5f3f2b3c4d5e",
        platform=platform,
        received_at=datetime.now(UTC),
        body=json.dumps(body).encode(),
        brand_id="acme",
        default_lang="es",
        account_ids=accounts,
    )
    envelope = Envelope(
        type="ingest.webhook_received", source="/socialcare/ingest", key="k", data=data
    )
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await handlers.handle_webhooks(session, [envelope], retention_days=0)
    async with sessions() as session:
        stored = set((await session.scalars(select(InteractionRecord.external_id))).all())
        values = (await session.scalars(select(bus_tables.outbox.c.value))).all()
        keys = (
            await session.execute(select(DeliveryKey.external_id, DeliveryKey.change_kind))
        ).all()
    return stored, [json.loads(value) for value in values], {(a, b) for a, b in keys}


def _feed_comment(base: dict[str, Any], comment_id: str, author_id: str) -> dict[str, Any]:
    change = copy.deepcopy(base)
    change["value"]["comment_id"] = comment_id
    change["value"]["from"]["id"] = author_id
    return change


@pytest.mark.usefixtures("fresh_unknown_labels")
async def test_a_meta_delivery_keeps_its_valid_items_and_reports_the_overlong_one(
    engine: AsyncEngine,
) -> None:
    body = _fixture("meta_page_feed_comment.json")
    (change,) = body["entry"][0]["changes"]
    short = change["value"]["comment_id"]
    exactly = _long_id("c_", EXACTLY)
    too_long = _long_id("c_", TOO_LONG)
    long_author = _long_id("u_", TOO_LONG)
    body["entry"][0]["changes"] = [
        change,
        _feed_comment(change, exactly, "1001"),
        _feed_comment(change, too_long, "1002"),
        _feed_comment(change, "901097836652708_1", long_author),
    ]
    # A Messenger customer whose id is of the full length: a message, and a read receipt by
    # watermark, whose report name (`watermark:<id>:<ms>`) is longer than the id.
    customer = _long_id("psid_", EXACTLY)
    body["entry"].append(
        {
            "id": PAGE_ID,
            "time": 1795474000123,
            "messaging": [
                {
                    "sender": {"id": customer},
                    "recipient": {"id": PAGE_ID},
                    "timestamp": 1795474000100,
                    "message": {"mid": "m_limits-1", "text": "¿Dónde está mi pedido?"},
                },
                {
                    "sender": {"id": customer},
                    "recipient": {"id": PAGE_ID},
                    "timestamp": 1795474000500,
                    "read": {"watermark": 1795474000300},
                },
            ],
        }
    )
    too_long_before = _unknown_count("meta", "meta.external_id.too_long")
    author_before = _unknown_count("meta", "meta.author.external_id.too_long")

    stored, events, keys = await _ingest_webhook(engine, "meta", body, [PAGE_ID])

    assert stored == {short, exactly, "m_limits-1"}
    assert _unknown_count("meta", "meta.external_id.too_long") == too_long_before + 1
    assert _unknown_count("meta", "meta.author.external_id.too_long") == author_before + 1
    receipts = [event for event in events if event.get("watermark")]
    assert len(receipts) == 1
    assert receipts[0]["thread_external_id"] == customer
    name = receipts[0]["external_id"]
    assert name == report_name("watermark", customer, "1795474000300")
    assert name.startswith("watermark:sha256-")
    assert len(name) <= MAX_PLATFORM_ID
    assert (name, "status.read") in keys
    received = {event["external_id"] for event in events if "kind" in event}
    assert received == {short, exactly, "m_limits-1"}


@pytest.mark.usefixtures("fresh_unknown_labels")
async def test_an_x_delivery_keeps_its_valid_posts_and_reports_the_overlong_ones(
    engine: AsyncEngine,
) -> None:
    body = _fixture("x_account_activity_mention.json")
    (tweet,) = body["tweet_create_events"]
    exactly = _long_id("1", EXACTLY)
    too_long = _long_id("1", TOO_LONG)
    posts = [tweet]
    for post_id, user_id in (
        (exactly, "2222222223"),
        (too_long, "2222222224"),
        ("1179790868309368999", _long_id("2", TOO_LONG)),
    ):
        post = copy.deepcopy(tweet)
        post["id"] = post["id_str"] = post_id
        post["user"]["id"] = post["user"]["id_str"] = user_id
        posts.append(post)
    body["tweet_create_events"] = posts
    too_long_before = _unknown_count("x", "x.external_id.too_long")
    author_before = _unknown_count("x", "x.author.external_id.too_long")

    stored, events, _keys = await _ingest_webhook(engine, "x", body, [X_ACCOUNT])

    assert stored == {tweet["id_str"], exactly}
    assert {event["external_id"] for event in events} == {tweet["id_str"], exactly}
    assert _unknown_count("x", "x.external_id.too_long") == too_long_before + 1
    assert _unknown_count("x", "x.author.external_id.too_long") == author_before + 1


def test_a_dedupe_key_over_its_column_is_digested_and_stays_distinct() -> None:
    # An X like's discriminator is the liker's id: of the full length, past the column.
    first = bounded_dedupe_key("favorite.add:" + _long_id("a", EXACTLY))
    second = bounded_dedupe_key("favorite.add:" + _long_id("b", EXACTLY))
    assert len(first) <= MAX_DEDUPE_KEY
    assert first.startswith("favorite.add:sha256-")
    assert first != second
    assert bounded_dedupe_key("comment.add") == "comment.add"


# ----------------------------------------------------------------------------------- REST


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": _long_id("r", TOO_LONG)}, "external_id"),
        ({"thread_external_id": _long_id("t", TOO_LONG)}, "thread_external_id"),
        ({"parent_external_id": _long_id("p", TOO_LONG)}, "parent_external_id"),
        ({"author": {"external_id": _long_id("a", TOO_LONG)}}, "author"),
        ({"connection_id": "c" * 37}, "connection_id"),
    ],
)
async def test_an_intake_item_with_an_overlong_id_is_rejected_naming_it(
    ingest: Ingest, changes: dict[str, Any], field: str
) -> None:
    valid = item(external_id="limits-valid-" + field)
    response = await ingest.intake(json.dumps({"items": [item(**changes), valid]}).encode())
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (1, 1), response.text
    (error,) = result["items"][0]["errors"]
    assert error["field"] == field
    limit = "36" if field == "connection_id" else str(MAX_PLATFORM_ID)
    assert limit in error["reason"]
    assert result["items"][1]["status"] == "accepted"


async def test_intake_ids_of_exactly_the_limit_are_stored(ingest: Ingest) -> None:
    body = item(
        external_id=_long_id("e", EXACTLY),
        thread_external_id=_long_id("t", EXACTLY),
        parent_external_id=_long_id("p", EXACTLY),
        author={"external_id": _long_id("a", EXACTLY)},
    )
    response = await ingest.intake(json.dumps(body).encode())
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    found = await ingest.client.get(
        f"{ingest.url}/v1/interactions",
        params={"brand_id": "acme", "external_id": body["external_id"]},
        auth=WRITER,
    )
    assert found.status_code == 200, found.text
    (stored,) = found.json()["items"]
    assert stored["author"]["external_id"] == body["author"]["external_id"]


async def test_an_overlong_search_id_is_422_naming_it(ingest: Ingest) -> None:
    response = await ingest.client.get(
        f"{ingest.url}/v1/interactions",
        params={"external_id": _long_id("e", TOO_LONG)},
        auth=WRITER,
    )
    refused = problem(response, 422)
    assert refused["errors"][0]["field"] == "external_id"
    assert str(MAX_PLATFORM_ID) in refused["errors"][0]["reason"]


async def test_a_connection_with_an_overlong_account_id_is_422_naming_it(ingest: Ingest) -> None:
    response = await ingest.client.post(
        f"{ingest.url}/v1/connections",
        json={
            "brand_id": "acme",
            "platform": "x",
            "name": "Acme on X",
            "account_ids": ["123", _long_id("9", TOO_LONG)],
            "secrets": {"consumer_secret": "s3cret"},
        },
        auth=WRITER,
    )
    refused = problem(response, 422)
    assert refused["errors"][0]["field"] == "account_ids.1"
    assert str(MAX_PLATFORM_ID) in refused["errors"][0]["reason"]
