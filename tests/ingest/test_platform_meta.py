"""Facebook Page, Messenger and Instagram webhook bodies parsed into `ParsedItem`s."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.platforms import ParsedItem, PayloadError, parse_meta_payload
from shared.events.interactions import Channel, InteractionKind

FIXTURES = Path(__file__).parent / "fixtures"
PAGE_ID = "104857600012345"
IG_ACCOUNT_ID = "17841400123456789"


def _load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


def _by_external_id(items: list[ParsedItem], external_id: str) -> list[ParsedItem]:
    return [item for item in items if item.external_id == external_id]


def test_feed_reply_comment_with_iso_time_and_permalink() -> None:
    payload = _load("meta_feed_comment_reply_es.json")
    value = payload["entry"][0]["changes"][0]["value"]

    result = parse_meta_payload(payload)

    assert result.unknown == []
    (item,) = result.items
    assert item.change == "received"
    assert item.change_kind == "comment.add"
    assert item.channel is Channel.facebook
    assert item.kind is InteractionKind.reply
    assert item.account_external_id == PAGE_ID
    assert item.external_id == value["comment_id"]
    assert item.thread_external_id == value["post_id"]
    assert item.parent_external_id == value["parent_id"]
    assert item.text == value["message"]
    assert item.author.external_id == value["from"]["id"]
    assert item.author.display_name == "Lucía Fernández"
    assert item.created_at == datetime(2026, 11, 23, 21, 14, 5, tzinfo=UTC)
    assert item.url == value["post"]["permalink_url"]
    assert not item.own_message


def test_feed_legacy_sender_fields_numeric_ids_and_batched_entries() -> None:
    result = parse_meta_payload(_load("meta_feed_legacy_sender.json"))

    assert result.unknown == []
    customer, page_reply = result.items
    assert customer.account_external_id == PAGE_ID  # entry id was a JSON number
    assert customer.author.external_id == "7209876543211111"  # sender_id was a JSON number
    assert customer.author.display_name == "Mark Thompson"
    assert customer.kind is InteractionKind.comment
    assert customer.text == "Love the new store in Madrid!"
    assert customer.created_at == datetime.fromtimestamp(1795468500, tz=UTC)
    assert not customer.own_message
    assert page_reply.own_message
    assert page_reply.author.external_id == PAGE_ID


def test_feed_comment_edit_hide_unhide_remove() -> None:
    result = parse_meta_payload(_load("meta_feed_comment_lifecycle.json"))

    assert [(item.change, item.change_kind, item.deleted_reason) for item in result.items] == [
        ("updated", "comment.edited", None),
        ("deleted", "comment.hide", "hidden"),
        ("updated", "comment.unhide", None),
        ("deleted", "comment.remove", "deleted"),
    ]
    edited = result.items[0]
    assert "#48213" in edited.text
    assert edited.dedupe_key.startswith("comment.edited:")
    assert {item.external_id for item in result.items} == {"880011223344556_1122334455667788"}


def test_every_edit_of_a_comment_has_its_own_dedupe_key() -> None:
    payload = _load("meta_feed_comment_lifecycle.json")
    second_edit = copy.deepcopy(payload)
    second_edit["entry"][0]["changes"][0]["value"]["message"] = "Ya me llegó, gracias"

    first_key = parse_meta_payload(payload).items[0].dedupe_key
    redelivered_key = parse_meta_payload(copy.deepcopy(payload)).items[0].dedupe_key
    second_key = parse_meta_payload(second_edit).items[0].dedupe_key

    assert first_key == redelivered_key
    assert first_key != second_key


def test_feed_posts_status_photo_video_and_removal() -> None:
    result = parse_meta_payload(_load("meta_feed_posts.json"))

    assert result.unknown == []
    visitor_post, photo, video, removal = result.items
    assert (visitor_post.change, visitor_post.change_kind) == ("received", "post.add")
    assert visitor_post.kind is InteractionKind.post
    assert visitor_post.thread_external_id == visitor_post.external_id
    assert visitor_post.url == "https://www.facebook.com/104857600012345/posts/990000111122223"
    assert not visitor_post.own_message
    assert photo.own_message
    assert photo.text == "[photo] Abrimos nueva tienda en Madrid 🎉"
    assert photo.created_at == datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    assert (video.change, video.change_kind) == ("updated", "post.edited")
    assert (removal.change, removal.deleted_reason) == ("deleted", "deleted")
    assert removal.external_id == visitor_post.external_id


def test_feed_reactions_likes_and_shares_are_engagement() -> None:
    result = parse_meta_payload(_load("meta_feed_engagement.json"))

    assert result.unknown == []
    assert all(item.change == "engagement" and item.kind is None for item in result.items)
    reaction, like, unlike, share = result.items
    assert reaction.external_id == "990000111122224_3344556677889900"  # the comment reacted to
    assert reaction.thread_external_id == "104857600012345_990000111122224"
    assert (reaction.engagement_kind, reaction.reaction_type) == ("reaction", "love")
    assert (like.engagement_kind, like.engagement_delta) == ("like", 1)
    assert like.author.external_id == "7209876543211111"
    assert (unlike.change_kind, unlike.engagement_delta) == ("like.remove", -1)
    assert (share.engagement_kind, share.engagement_delta) == ("share", 1)


def test_likes_of_one_post_by_two_people_do_not_dedupe_each_other() -> None:
    payload = _load("meta_feed_engagement.json")
    other_fan = copy.deepcopy(payload)
    other_fan["entry"][0]["changes"][1]["value"]["sender_id"] = "1000000000000001"

    like = parse_meta_payload(payload).items[1]
    other_like = parse_meta_payload(other_fan).items[1]

    assert like.external_id == other_like.external_id
    assert like.dedupe_key != other_like.dedupe_key


def test_page_mentions_with_ids_only_need_a_fetch() -> None:
    result = parse_meta_payload(_load("meta_page_mention.json"))

    ids_only, in_comment = result.items
    assert ids_only.kind is InteractionKind.mention
    assert ids_only.needs_fetch
    assert ids_only.external_id == ids_only.thread_external_id == "6660001112223334_112233445566778"
    assert ids_only.author.display_name == "Carlos Ruiz"
    assert in_comment.external_id == "112233445566779_998877665544"
    assert in_comment.thread_external_id == "6660001112223334_112233445566779"
    assert in_comment.parent_external_id == in_comment.thread_external_id
    assert "devolución" in in_comment.text
    assert not in_comment.needs_fetch


def test_messenger_messages_echoes_reactions_postbacks_and_edits() -> None:
    result = parse_meta_payload(_load("meta_messenger_batch.json"))

    # Receipts are status items (below); the opt-in is not understood.
    assert result.unknown == ["page.messaging.optin"]
    assert {item.channel for item in result.items} == {Channel.messenger}
    assert {item.thread_external_id for item in result.items} == {"3141592653589793"}
    delivered, read = [item for item in result.items if item.change == "status"]
    assert (delivered.status, delivered.external_id) == ("delivered", "m_AbCdEf0123456789-3")
    assert read.status_watermark == datetime.fromtimestamp(1795474000.3, tz=UTC)
    messages = [item for item in result.items if item.change != "status"]
    text, image, echo, reaction, postback, edit = messages
    assert text.text.startswith("Llevo dos semanas")
    assert text.kind is InteractionKind.direct_message
    assert text.created_at == datetime.fromtimestamp(1795474000.1, tz=UTC)
    assert image.text == "[image]"
    assert echo.own_message
    assert echo.author.external_id == PAGE_ID
    assert not text.own_message
    assert (reaction.change, reaction.external_id) == ("engagement", echo.external_id)
    assert reaction.reaction_type == "like"
    assert postback.text == "[postback] Track my order"
    assert (edit.change, edit.external_id) == ("updated", text.external_id)
    assert edit.dedupe_key == "message.edited:1"


def test_messenger_delivery_with_mids_is_one_status_per_message() -> None:
    result = parse_meta_payload(_load("meta_receipts.json"))

    assert result.unknown == []  # typing_on is acknowledged, not unknown
    first, second = result.items[:2]
    for item, mid in ((first, "m_AbCdEf0123456789-3"), (second, "m_AbCdEf0123456789-4")):
        assert item.change == "status"
        assert item.status == "delivered"
        assert item.change_kind == item.dedupe_key == "status.delivered"
        assert item.external_id == mid
        assert item.status_watermark is None  # the mids say which messages
        # The customer sent the receipt: the thread is theirs, the account is the page.
        assert item.thread_external_id == "3141592653589793"
        assert item.account_external_id == PAGE_ID
        assert item.own_message
        assert item.created_at == datetime.fromtimestamp(1795474000.4, tz=UTC)


def test_messenger_delivery_without_mids_is_a_watermark_on_the_conversation() -> None:
    result = parse_meta_payload(_load("meta_receipts.json"))

    watermark = result.items[2]
    assert watermark.change == "status"
    assert watermark.status == "delivered"
    assert watermark.channel is Channel.messenger
    assert watermark.thread_external_id == "3141592653589793"
    assert watermark.account_external_id == PAGE_ID
    assert watermark.status_watermark == datetime.fromtimestamp(1795474000.35, tz=UTC)
    # No timestamp in Meta's example of this event: the pipeline uses the time it arrived.
    assert watermark.created_at is None
    assert watermark.external_id == "watermark:3141592653589793:1795474000350"


def test_messenger_read_watermark_and_dedupe_keys_let_a_later_watermark_through() -> None:
    payload = _load("meta_receipts.json")
    read = parse_meta_payload(payload).items[3]

    assert (read.status, read.change_kind) == ("read", "status.read")
    assert read.status_watermark == datetime.fromtimestamp(1795474000.353, tz=UTC)
    assert read.external_id == "watermark:3141592653589793:1795474000353"
    assert len(parse_meta_payload(payload).items) == 4  # nothing for typing_on
    # Redelivered: the same item (a duplicate); a later watermark: a new one.
    later = copy.deepcopy(payload)
    later["entry"][0]["messaging"][2]["read"]["watermark"] = 1795474000900
    again, moved = parse_meta_payload(payload).items[3], parse_meta_payload(later).items[3]
    assert (again.external_id, again.dedupe_key) == (read.external_id, read.dedupe_key)
    assert moved.external_id != read.external_id
    # Another customer's watermark at the same millisecond is another report.
    other = copy.deepcopy(payload)
    other["entry"][0]["messaging"][2]["sender"]["id"] = "2718281828459045"
    assert parse_meta_payload(other).items[3].external_id != read.external_id


def test_instagram_seen_with_a_mid_and_with_a_watermark() -> None:
    result = parse_meta_payload(_load("instagram_seen.json"))

    assert result.unknown == []
    by_mid, by_watermark = result.items
    assert {item.channel for item in result.items} == {Channel.instagram}
    assert {item.status for item in result.items} == {"read"}
    assert {item.thread_external_id for item in result.items} == {"1029384756473829"}
    assert {item.account_external_id for item in result.items} == {IG_ACCOUNT_ID}
    assert by_mid.external_id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMTIzNDU2Nzg5"
    assert by_mid.status_watermark is None
    assert by_watermark.status_watermark == datetime.fromtimestamp(1795478001.4, tz=UTC)
    assert by_watermark.external_id == "watermark:1029384756473829:1795478001400"


@pytest.mark.parametrize(
    ("receipt", "label"),
    [
        ({"delivery": "m_1"}, "page.messaging.delivery.malformed"),
        ({"delivery": {}}, "page.messaging.delivery.malformed"),
        ({"read": {"watermark": "soon"}}, "page.messaging.read.malformed"),
        ({"read": {"mids": [None, 3.5]}}, "page.messaging.read.malformed"),
    ],
)
def test_receipts_without_messages_or_watermark_are_reported(
    receipt: dict[str, Any], label: str
) -> None:
    event = {"sender": {"id": "31415"}, "recipient": {"id": PAGE_ID}, "timestamp": 1795474000400}
    payload = {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{**event, **receipt}]}]}

    result = parse_meta_payload(payload)

    assert result.items == []
    assert result.unknown == [label]


def test_instagram_comments_replies_and_live_comments() -> None:
    result = parse_meta_payload(_load("instagram_comments.json"))

    assert result.unknown == []
    comment, own_reply, live = result.items
    assert {item.channel for item in result.items} == {Channel.instagram}
    assert comment.kind is InteractionKind.comment
    assert comment.thread_external_id == "18012345678901234"
    assert comment.author.handle == "emma.travels"
    assert comment.account_external_id == IG_ACCOUNT_ID
    assert own_reply.kind is InteractionKind.reply
    assert own_reply.parent_external_id == comment.external_id
    assert own_reply.thread_external_id == comment.thread_external_id
    assert own_reply.own_message
    assert live.change_kind == "live_comment.add"
    assert live.thread_external_id == "18098765432109876"


def test_instagram_mentions_carry_only_ids() -> None:
    result = parse_meta_payload(_load("instagram_mentions.json"))

    in_comment, in_caption = result.items
    assert all(item.needs_fetch and item.kind is InteractionKind.mention for item in result.items)
    assert in_comment.external_id == "17855566677788800"
    assert in_comment.thread_external_id == "18055566677788899"
    assert in_caption.external_id == in_caption.thread_external_id == "18055566677788900"


def test_instagram_direct_messages_story_replies_echoes_and_deletions() -> None:
    result = parse_meta_payload(_load("instagram_dm.json"))

    assert result.unknown == []
    text, story_reply, echo, deletion = result.items
    assert {item.thread_external_id for item in result.items} == {"1029384756473829"}
    assert text.channel is Channel.instagram
    assert text.author.handle == "lucia_fdz"
    assert story_reply.text == "[story reply] ¿Esto está disponible en talla M?"
    assert echo.own_message
    assert (deletion.change, deletion.external_id) == ("deleted", story_reply.external_id)


def test_instagram_flat_entries_without_changes() -> None:
    result = parse_meta_payload(_load("instagram_flat_entry.json"))

    assert result.unknown == []
    message, comment = result.items
    assert message.kind is InteractionKind.direct_message
    assert message.text == "Love the new store in Madrid!"
    assert message.created_at == datetime.fromtimestamp(1795478000, tz=UTC)  # string seconds
    assert comment.kind is InteractionKind.comment
    assert comment.author.handle == "mark.t"


def test_known_parts_survive_next_to_unknown_ones() -> None:
    result = parse_meta_payload(_load("meta_mixed_unknown.json"))

    (comment,) = result.items
    assert comment.text == "¿Hacéis envíos a Canarias?"
    assert sorted(result.unknown) == sorted(
        [
            "page.feed.event.add",
            "page.leadgen",
            "page.ratings",
            "page.entry.not_object",
            "page.entry.no_changes",
        ]
    )


def test_whatsapp_bodies_posted_to_the_meta_callback_are_parsed() -> None:
    result = parse_meta_payload(_load("whatsapp_statuses.json"))

    assert result.items
    assert {item.channel for item in result.items} == {Channel.whatsapp}


@pytest.mark.parametrize(
    ("payload", "label"),
    [
        ({"object": "user", "entry": []}, "meta.object.user"),
        ({}, "meta.object.none"),
        ({"object": "page"}, "page.entry.missing"),
        ({"object": "page", "entry": [{"id": "1", "changes": "x"}]}, "page.changes.malformed"),
    ],
)
def test_unknown_shapes_are_reported_not_raised(payload: dict[str, Any], label: str) -> None:
    result = parse_meta_payload(payload)

    assert result.items == []
    assert label in result.unknown


@pytest.mark.parametrize("payload", [[], "page", 3, None])
def test_a_body_that_is_not_an_object_raises_payload_error(payload: object) -> None:
    with pytest.raises(PayloadError):
        parse_meta_payload(payload)


def test_an_echo_is_our_own_message_even_without_the_entry_id() -> None:
    payload = _load("instagram_dm.json")
    del payload["entry"][0]["id"]

    echo = parse_meta_payload(payload).items[2]

    assert echo.own_message
    assert echo.thread_external_id == "1029384756473829"
    assert echo.account_external_id == IG_ACCOUNT_ID
