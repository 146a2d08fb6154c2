"""The shared webhook fixtures (/work/shared/fixtures/webhooks) through the parsers.

The folder sits next to the repository and is optional: without it these tests skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.ingest.platforms import (
    ParseResult,
    load_payload,
    parse_meta_payload,
    parse_x_payload,
)
from shared.events.interactions import Channel, InteractionKind

SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "webhooks"
pytestmark = pytest.mark.skipif(
    not SHARED_FIXTURES.is_dir(), reason="shared fixtures folder is not available"
)


def _parse(name: str) -> tuple[dict[str, Any], ParseResult]:
    raw = (SHARED_FIXTURES / name).read_bytes()
    payload = load_payload(raw)
    parser: Callable[[object], ParseResult] = (
        parse_x_payload if name.startswith("x_") else parse_meta_payload
    )
    return payload, parser(payload)


def _webhook_fixture_names() -> list[str]:
    if not SHARED_FIXTURES.is_dir():
        return []
    return sorted(
        path.name for path in SHARED_FIXTURES.glob("*.json") if "test_vector" not in path.name
    )


@pytest.mark.parametrize("name", _webhook_fixture_names())
def test_every_shared_webhook_fixture_yields_items_and_nothing_unknown(name: str) -> None:
    _, result = _parse(name)

    assert result.unknown == []
    assert result.items
    for item in result.items:
        assert item.external_id
        assert item.thread_external_id
        assert item.created_at is not None
        assert item.created_at.utcoffset() is not None


def test_page_feed_comment() -> None:
    payload, result = _parse("meta_page_feed_comment.json")
    value = payload["entry"][0]["changes"][0]["value"]

    (item,) = result.items
    assert (item.channel, item.kind, item.change_kind) == (
        Channel.facebook,
        InteractionKind.comment,
        "comment.add",
    )
    assert item.external_id == value["comment_id"]
    assert item.thread_external_id == value["post_id"]
    assert item.text == value["message"]
    assert item.author.display_name == value["from"]["name"]
    assert int(item.created_at.timestamp()) == value["created_time"]  # type: ignore[union-attr]


def test_signature_vector_body_is_the_page_feed_comment() -> None:
    vector = json.loads((SHARED_FIXTURES / "meta_signature_test_vector.json").read_text())
    _, from_file = _parse("meta_page_feed_comment.json")

    from_vector = parse_meta_payload(load_payload(vector["raw_body"]))

    assert [item.external_id for item in from_vector.items] == [
        item.external_id for item in from_file.items
    ]


def test_messenger_message() -> None:
    payload, result = _parse("meta_messenger_message.json")
    event = payload["entry"][0]["messaging"][0]

    (item,) = result.items
    assert (item.channel, item.kind) == (Channel.messenger, InteractionKind.direct_message)
    assert item.external_id == event["message"]["mid"]
    assert item.thread_external_id == event["sender"]["id"]
    assert item.text == event["message"]["text"]
    assert item.account_external_id == payload["entry"][0]["id"]


def test_instagram_comment() -> None:
    payload, result = _parse("instagram_comment.json")
    value = payload["entry"][0]["changes"][0]["value"]

    (item,) = result.items
    assert item.channel is Channel.instagram
    assert item.thread_external_id == value["media"]["id"]
    assert item.parent_external_id == value["parent_id"]
    assert item.author.handle == value["from"]["username"]
    assert item.text == value["text"]


def test_whatsapp_message() -> None:
    payload, result = _parse("whatsapp_message.json")
    value = payload["entry"][0]["changes"][0]["value"]

    (item,) = result.items
    assert item.channel is Channel.whatsapp
    assert item.account_external_id == value["metadata"]["phone_number_id"]
    assert item.thread_external_id == value["messages"][0]["from"]
    assert item.author.display_name == value["contacts"][0]["profile"]["name"]
    assert item.text == value["messages"][0]["text"]["body"]


def test_x_account_activity_mention() -> None:
    payload, result = _parse("x_account_activity_mention.json")
    tweet = payload["tweet_create_events"][0]

    (item,) = result.items
    assert (item.channel, item.kind) == (Channel.x, InteractionKind.mention)
    assert item.account_external_id == payload["for_user_id"]
    assert item.external_id == tweet["id_str"]
    assert item.author.handle == tweet["user"]["screen_name"]
    assert item.url == f"https://x.com/{tweet['user']['screen_name']}/status/{tweet['id_str']}"
    assert not item.own_message


def test_x_direct_message() -> None:
    payload, result = _parse("x_dm.json")
    event = payload["direct_message_events"][0]
    sender_id = event["message_create"]["sender_id"]

    (item,) = result.items
    assert item.kind is InteractionKind.direct_message
    assert item.author.handle == payload["users"][sender_id]["screen_name"]
    assert item.thread_external_id == "-".join(sorted([sender_id, payload["for_user_id"]]))
    assert item.text == event["message_create"]["message_data"]["text"]
