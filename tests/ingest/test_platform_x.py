"""X Account Activity API and X Activity API bodies parsed into `ParsedItem`s."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.platforms import PayloadError, parse_x_payload
from shared.events.interactions import Channel, InteractionKind

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT_ID = "2244994945"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_mentions_replies_quotes_and_retweets_of_a_conversation() -> None:
    result = parse_x_payload(_load("x_tweet_thread.json"))

    assert result.unknown == []
    root, own_reply, customer_reply, quote, retweet = result.items
    assert {item.channel for item in result.items} == {Channel.x}
    assert {item.account_external_id for item in result.items} == {ACCOUNT_ID}
    assert root.kind is InteractionKind.mention
    assert root.thread_external_id == root.external_id == "1992000000000000001"
    assert root.url == "https://x.com/luciafdz/status/1992000000000000001"
    assert root.created_at == datetime.fromtimestamp(1795467600, tz=UTC)
    assert (root.metrics.likes, root.metrics.comments, root.metrics.shares) == (5, 1, 2)
    assert root.author.followers == 812
    assert own_reply.own_message
    assert own_reply.kind is InteractionKind.reply
    assert not root.own_message
    # The in_reply_to chain inside the batch leads every reply back to the root.
    assert own_reply.thread_external_id == root.external_id
    assert customer_reply.thread_external_id == root.external_id
    assert customer_reply.parent_external_id == own_reply.external_id
    assert customer_reply.text.endswith("when the delayed orders will ship?")  # extended_tweet
    assert quote.kind is InteractionKind.mention
    assert quote.parent_external_id == "1991000000000000000"
    assert (retweet.change, retweet.engagement_kind) == ("engagement", "share")
    assert retweet.external_id == "1991000000000000000"


def test_a_reply_whose_parent_is_not_in_the_batch_is_threaded_on_its_parent() -> None:
    payload = _load("x_tweet_thread.json")
    payload["tweet_create_events"] = payload["tweet_create_events"][2:3]

    (reply,) = parse_x_payload(payload).items

    assert reply.thread_external_id == "1992000000000000002"


def test_reply_cycles_do_not_hang() -> None:
    payload = _load("x_tweet_thread.json")
    first, second = payload["tweet_create_events"][:2]
    first["in_reply_to_status_id_str"] = second["id_str"]
    payload["tweet_create_events"] = [first, second]

    result = parse_x_payload(payload)

    assert len(result.items) == 2


def test_direct_messages_use_the_users_map_and_flag_our_own() -> None:
    result = parse_x_payload(_load("x_dm_conversation.json"))

    assert result.unknown == []
    first, ours, with_photo = result.items
    assert {item.thread_external_id for item in result.items} == {"2244994945-3300000001"}
    assert first.author.handle == "luciafdz"
    assert first.author.display_name == "Lucía Fernández"
    assert first.kind is InteractionKind.direct_message
    assert not first.own_message
    assert ours.own_message
    assert with_photo.text == "[photo] Es el 48213 https://t.co/xyz"
    assert first.created_at == datetime.fromtimestamp(1795470000, tz=UTC)


def test_favorites_deletions_and_unknown_event_arrays() -> None:
    result = parse_x_payload(_load("x_favorite_delete.json"))

    favorite, deletion = result.items
    assert result.unknown == ["x.follow_events"]
    assert (favorite.change, favorite.engagement_kind) == ("engagement", "favorite")
    assert favorite.external_id == "1992000000000000002"
    assert favorite.author.handle == "luciafdz"
    assert (deletion.change, deletion.external_id) == ("deleted", "1992000000000000003")
    assert deletion.author.external_id == "3300000002"


def test_activity_api_mention_envelope() -> None:
    result = parse_x_payload(_load("x_activity_mention.json"))

    (mention,) = result.items
    assert mention.kind is InteractionKind.mention
    assert mention.account_external_id == ACCOUNT_ID
    assert mention.author.handle == "luciafdz"
    assert mention.author.followers == 812
    assert mention.created_at == datetime(2026, 11, 23, 21, 40, tzinfo=UTC)
    assert mention.metrics.views == 140
    assert mention.metrics.shares == 2
    assert mention.url == "https://x.com/luciafdz/status/1992200000000000001"


def test_activity_api_reply_uses_conversation_id_and_long_text() -> None:
    (reply,) = parse_x_payload(_load("x_activity_reply.json")).items

    assert reply.kind is InteractionKind.reply
    assert reply.thread_external_id == "1992000000000000001"
    assert reply.parent_external_id == "1992000000000000002"
    assert reply.text.endswith("cannot find anywhere on the website.")


def test_activity_api_direct_message_with_wrapped_users() -> None:
    (message,) = parse_x_payload(_load("x_activity_dm_received.json")).items

    assert message.kind is InteractionKind.direct_message
    assert message.author.handle == "emmaclarke"
    assert message.author.followers == 2400
    assert message.thread_external_id == "2244994945-3300000003"


def test_activity_api_likes_deletes_and_unsupported_events() -> None:
    like, delete, follow, chat, read = (
        parse_x_payload(body) for body in _load("x_activity_other_events.json")
    )

    assert (like.items[0].change, like.items[0].external_id) == (
        "engagement",
        "1992000000000000002",
    )
    assert not like.items[0].own_message  # inbound: someone liked our post
    assert (delete.items[0].change, delete.items[0].own_message) == ("deleted", True)
    assert (follow.items, follow.unknown) == ([], ["x.activity.follow.follow"])
    assert (chat.items, chat.unknown) == ([], ["x.activity.chat.received"])
    assert (read.items, read.unknown) == ([], [])


@pytest.mark.parametrize("payload", [[], "tweet", 1.5, None])
def test_non_object_body_raises_payload_error(payload: object) -> None:
    with pytest.raises(PayloadError):
        parse_x_payload(payload)


def test_empty_object_is_reported() -> None:
    assert parse_x_payload({}).unknown == ["x.empty"]
