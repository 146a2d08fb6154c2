"""X webhooks: the Account Activity API and the X Activity API `data` envelope.

Account Activity API bodies name the subscribed account in `for_user_id` and carry arrays such
as `tweet_create_events` (v1.1 tweet objects), `direct_message_events` (with a `users` map),
`favorite_events` and `tweet_delete_events`.

X Activity API bodies are `{"data": {"event_uuid", "filter": {"user_id"}, "event_type",
"payload", "includes"}}` (docs.x.com "X Activity API event payload examples"): `post.*` events
carry a v2 Post in `payload` and users in `includes.users`; `dm.sent`/`dm.received` carry the
Account Activity `direct_message_events` + `users` shape inside `payload`; `like.create` names
the liked Post. Encrypted XChat events (`chat.*`) cannot be read without the XChat client
libraries and are reported as unknown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.interactions import Author, Channel, InteractionKind, Metrics

from .base import ParsedItem, ParseResult, make_author, make_metrics, require_object
from .json_values import (
    as_count,
    as_id,
    as_object,
    as_object_list,
    as_text,
    nested,
    parse_timestamp,
    unknown_label,
)

# Account Activity keys that are metadata or receipts, not events we need.
_IGNORED_ACTIVITY_KEYS = frozenset(
    {
        "for_user_id",
        "user_has_blocked",
        "users",
        "apps",
        "direct_message_indicate_typing_events",
        "direct_message_mark_read_events",
    }
)
_IGNORED_ACTIVITY_EVENT_TYPES = frozenset({"dm.read", "dm.indicate_typing"})
_POST_EVENT_KINDS = {
    "post.mention.create": InteractionKind.mention,
    "post.reply.create": InteractionKind.reply,
    "post.quote.create": InteractionKind.mention,
    "post.create": InteractionKind.post,
}


def parse_x_payload(payload: object) -> ParseResult:
    """Parse an X webhook body (Account Activity API or X Activity API envelope).

    Raises `PayloadError` only when the body is not a JSON object.
    """
    body = require_object(payload)
    result = ParseResult()
    if "data" in body:
        envelopes = body["data"] if isinstance(body["data"], list) else [body["data"]]
        for envelope in envelopes:
            _parse_activity_event(as_object(envelope), result)
        return result
    account_id = as_id(body.get("for_user_id"))
    users = _user_map(body.get("users"))
    for key, value in body.items():
        if key == "tweet_create_events":
            _parse_tweet_events(account_id, value, result)
        elif key == "direct_message_events":
            _parse_direct_messages(account_id, value, users, result)
        elif key == "favorite_events":
            _parse_favorites(account_id, value, result)
        elif key == "tweet_delete_events":
            _parse_tweet_deletes(account_id, value, result)
        elif key not in _IGNORED_ACTIVITY_KEYS:
            result.unknown.append(unknown_label("x", key))
    if not body:
        result.unknown.append(unknown_label("x", "empty"))
    return result


def _status_url(handle: str | None, tweet_id: str) -> str:
    if handle:
        return f"https://x.com/{handle}/status/{tweet_id}"
    return f"https://x.com/i/web/status/{tweet_id}"


def _legacy_author(user: dict[str, Any]) -> Author:
    return make_author(
        external_id=user.get("id_str") or user.get("id"),
        handle=user.get("screen_name") or user.get("username"),
        display_name=user.get("name"),
        followers=user.get("followers_count"),
        verified=user.get("verified"),
    )


def _tweet_text(tweet: dict[str, Any]) -> str:
    # Tweets over 140 characters arrive truncated with the whole text in extended_tweet.
    return (
        as_text(nested(tweet, "extended_tweet", "full_text"))
        or as_text(tweet.get("full_text"))
        or as_text(tweet.get("text"))
        or ""
    )


def _conversation_root(tweet_id: str, parents: dict[str, str | None]) -> str:
    """The oldest ancestor this batch knows of, walking in_reply_to links (cycle-safe)."""
    seen = {tweet_id}
    current = tweet_id
    while (parent := parents.get(current)) is not None and parent not in seen:
        seen.add(parent)
        current = parent
    return current


def _parse_tweet_events(account_id: str | None, events: object, result: ParseResult) -> None:
    tweets = _objects_or_report(events, "tweet_create_events", result)
    parents: dict[str, str | None] = {}
    for tweet in tweets:
        tweet_id = as_id(tweet.get("id_str")) or as_id(tweet.get("id"))
        if tweet_id is not None:
            parents[tweet_id] = as_id(tweet.get("in_reply_to_status_id_str")) or as_id(
                tweet.get("in_reply_to_status_id")
            )
    for tweet in tweets:
        _parse_tweet(account_id, tweet, parents, result)


def _parse_tweet(
    account_id: str | None,
    tweet: dict[str, Any],
    parents: dict[str, str | None],
    result: ParseResult,
) -> None:
    tweet_id = as_id(tweet.get("id_str")) or as_id(tweet.get("id"))
    if tweet_id is None:
        result.unknown.append(unknown_label("x", "tweet_create_events", "missing_id"))
        return
    author = _legacy_author(as_object(tweet.get("user")) or {})
    own = account_id is not None and author.external_id == account_id
    created_at = parse_timestamp(tweet.get("timestamp_ms")) or parse_timestamp(
        tweet.get("created_at")
    )
    retweeted = as_object(tweet.get("retweeted_status"))
    if retweeted is not None:
        # A retweet adds no words: it is a share of the original.
        original_id = as_id(retweeted.get("id_str")) or as_id(retweeted.get("id"))
        result.items.append(
            ParsedItem(
                change="engagement",
                change_kind="retweet",
                channel=Channel.x,
                account_external_id=account_id,
                external_id=original_id or tweet_id,
                thread_external_id=original_id or tweet_id,
                author=author,
                created_at=created_at,
                own_message=own,
                engagement_kind="share",
                engagement_delta=1,
                dedupe_discriminator=tweet_id,
            )
        )
        return
    parent_id = parents.get(tweet_id)
    quoted_id = as_id(tweet.get("quoted_status_id_str")) or as_id(
        nested(tweet, "quoted_status", "id_str")
    )
    if own:
        kind = InteractionKind.reply if parent_id else InteractionKind.post
    elif parent_id:
        kind = InteractionKind.reply
    else:
        kind = InteractionKind.mention
    thread_id = (
        as_id(tweet.get("conversation_id_str"))
        or as_id(tweet.get("conversation_id"))
        or _conversation_root(tweet_id, parents)
    )
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="tweet.create",
            channel=Channel.x,
            account_external_id=account_id,
            external_id=tweet_id,
            thread_external_id=thread_id,
            kind=kind,
            parent_external_id=parent_id or quoted_id,
            url=_status_url(author.handle, tweet_id),
            author=author,
            text=_tweet_text(tweet),
            created_at=created_at,
            metrics=_legacy_metrics(tweet),
            own_message=own,
        )
    )


def _legacy_metrics(tweet: dict[str, Any]) -> Metrics:
    retweets, quotes = as_count(tweet.get("retweet_count")), as_count(tweet.get("quote_count"))
    shares = None if retweets is None and quotes is None else (retweets or 0) + (quotes or 0)
    return make_metrics(
        likes=tweet.get("favorite_count"), comments=tweet.get("reply_count"), shares=shares
    )


def _user_map(users: object) -> dict[str, Author]:
    """Authors by id from a `users` map; X Activity API wraps each user in {"data": ...}."""
    authors: dict[str, Author] = {}
    for user_id, user in (as_object(users) or {}).items():
        user_object = as_object(user) or {}
        user_object = as_object(user_object.get("data")) or user_object
        authors[user_id] = _v2_or_legacy_author(user_object, fallback_id=user_id)
    return authors


def _v2_or_legacy_author(user: dict[str, Any], fallback_id: str | None = None) -> Author:
    return make_author(
        external_id=user.get("id_str") or user.get("id") or fallback_id,
        handle=user.get("screen_name") or user.get("username"),
        display_name=user.get("name"),
        followers=user.get("followers_count")
        if "followers_count" in user
        else nested(user, "public_metrics", "followers_count"),
        verified=user.get("verified"),
    )


def _dm_thread(sender_id: str, recipient_id: str | None) -> str:
    """X names one-to-one conversations "{lower id}-{higher id}"; we do the same."""
    if recipient_id is None:
        return sender_id
    pair = [sender_id, recipient_id]
    pair.sort(key=lambda user_id: (len(user_id), user_id) if user_id.isdigit() else (99, user_id))
    return "-".join(pair)


def _parse_direct_messages(
    account_id: str | None,
    events: object,
    users: dict[str, Author],
    result: ParseResult,
) -> None:
    if not isinstance(events, list):
        result.unknown.append(unknown_label("x", "direct_message_events", "malformed"))
        return
    for event in events:
        event_object = as_object(event) or {}
        message = as_object(event_object.get("message_create"))
        event_id = as_id(event_object.get("id"))
        sender_id = as_id(nested(message, "sender_id"))
        if event_object.get("type") != "message_create" or message is None:
            result.unknown.append(
                unknown_label("x", "direct_message_events", event_object.get("type"))
            )
            continue
        if event_id is None or sender_id is None:
            result.unknown.append(unknown_label("x", "direct_message_events", "missing_id"))
            continue
        recipient_id = as_id(nested(message, "target", "recipient_id"))
        author = users.get(sender_id) or make_author(external_id=sender_id)
        text = as_text(nested(message, "message_data", "text")) or ""
        media_type = as_text(nested(message, "message_data", "attachment", "media", "type"))
        if media_type:
            text = f"[{media_type}] {text}".strip()
        result.items.append(
            ParsedItem(
                change="received",
                change_kind="message",
                channel=Channel.x,
                account_external_id=account_id,
                external_id=event_id,
                thread_external_id=as_id(event_object.get("dm_conversation_id"))
                or _dm_thread(sender_id, recipient_id),
                kind=InteractionKind.direct_message,
                author=author,
                text=text,
                created_at=parse_timestamp(event_object.get("created_timestamp")),
                own_message=account_id is not None and sender_id == account_id,
            )
        )


def _parse_favorites(account_id: str | None, events: object, result: ParseResult) -> None:
    for favorite in _objects_or_report(events, "favorite_events", result):
        liked = as_object(favorite.get("favorited_status")) or {}
        liked_id = as_id(liked.get("id_str")) or as_id(liked.get("id"))
        if liked_id is None:
            result.unknown.append(unknown_label("x", "favorite_events", "missing_id"))
            continue
        author = _legacy_author(as_object(favorite.get("user")) or {})
        result.items.append(
            ParsedItem(
                change="engagement",
                change_kind="favorite",
                channel=Channel.x,
                account_external_id=account_id,
                external_id=liked_id,
                thread_external_id=as_id(liked.get("conversation_id_str")) or liked_id,
                author=author,
                created_at=parse_timestamp(favorite.get("timestamp_ms"))
                or parse_timestamp(favorite.get("created_at")),
                own_message=account_id is not None and author.external_id == account_id,
                engagement_kind="favorite",
                engagement_delta=1,
                dedupe_discriminator=as_id(favorite.get("id")) or author.external_id,
            )
        )


def _parse_tweet_deletes(account_id: str | None, events: object, result: ParseResult) -> None:
    for deletion in _objects_or_report(events, "tweet_delete_events", result):
        status = as_object(deletion.get("status")) or {}
        tweet_id = as_id(status.get("id_str")) or as_id(status.get("id"))
        if tweet_id is None:
            result.unknown.append(unknown_label("x", "tweet_delete_events", "missing_id"))
            continue
        author_id = as_id(status.get("user_id_str")) or as_id(status.get("user_id"))
        result.items.append(
            ParsedItem(
                change="deleted",
                change_kind="tweet.delete",
                channel=Channel.x,
                account_external_id=account_id,
                external_id=tweet_id,
                # The root is unknown here; the pipeline finds the thread by external_id.
                thread_external_id=tweet_id,
                author=make_author(external_id=author_id),
                created_at=parse_timestamp(deletion.get("timestamp_ms")),
                own_message=account_id is not None and author_id == account_id,
                deleted_reason="deleted",
            )
        )


def _objects_or_report(value: object, key: str, result: ParseResult) -> list[dict[str, Any]]:
    objects = as_object_list(value)
    if not isinstance(value, list) or len(objects) != len(value):
        result.unknown.append(unknown_label("x", key, "malformed"))
    return objects


def _parse_activity_event(envelope: dict[str, Any] | None, result: ParseResult) -> None:
    if envelope is None:
        result.unknown.append(unknown_label("x", "activity", "malformed"))
        return
    event_type = envelope.get("event_type")
    account_id = as_id(nested(envelope, "filter", "user_id"))
    payload = as_object(envelope.get("payload"))
    if not isinstance(event_type, str) or payload is None:
        result.unknown.append(unknown_label("x", "activity", "malformed"))
        return
    if event_type in _POST_EVENT_KINDS:
        _parse_activity_post(account_id, event_type, payload, envelope, result)
    elif event_type == "post.delete":
        _parse_activity_delete(account_id, payload, result)
    elif event_type in ("dm.received", "dm.sent"):
        _parse_direct_messages(
            account_id,
            payload.get("direct_message_events"),
            _user_map(payload.get("users")),
            result,
        )
    elif event_type == "like.create":
        _parse_activity_like(account_id, payload, result)
    elif event_type not in _IGNORED_ACTIVITY_EVENT_TYPES:
        result.unknown.append(unknown_label("x", "activity", event_type))


def _included_users(envelope: dict[str, Any]) -> dict[str, Author]:
    authors: dict[str, Author] = {}
    for user in as_object_list(nested(envelope, "includes", "users")):
        # Some events wrap each included user in {"data": {...}}.
        user_object = as_object(user.get("data")) or user
        author = _v2_or_legacy_author(user_object)
        if author.external_id:
            authors[author.external_id] = author
    return authors


def _parse_activity_post(
    account_id: str | None,
    event_type: str,
    post: dict[str, Any],
    envelope: dict[str, Any],
    result: ParseResult,
) -> None:
    post_id = as_id(post.get("id"))
    if post_id is None:
        result.unknown.append(unknown_label("x", "activity", event_type, "missing_id"))
        return
    author_id = as_id(post.get("author_id"))
    author = _included_users(envelope).get(author_id or "") or make_author(external_id=author_id)
    references = {
        as_text(reference.get("type")): as_id(reference.get("id"))
        for reference in as_object_list(post.get("referenced_tweets"))
    }
    replied_to = references.get("replied_to")
    own = account_id is not None and author_id == account_id
    kind = _POST_EVENT_KINDS[event_type]
    if replied_to and kind in (InteractionKind.mention, InteractionKind.post):
        kind = InteractionKind.reply
    metrics = as_object(post.get("public_metrics")) or {}
    retweets, quotes = as_count(metrics.get("retweet_count")), as_count(metrics.get("quote_count"))
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="tweet.create",
            channel=Channel.x,
            account_external_id=account_id,
            external_id=post_id,
            thread_external_id=as_id(post.get("conversation_id")) or replied_to or post_id,
            kind=kind,
            parent_external_id=replied_to or references.get("quoted"),
            url=_status_url(author.handle, post_id),
            author=author,
            # Long posts keep their whole text in note_tweet.
            text=as_text(nested(post, "note_tweet", "text")) or as_text(post.get("text")) or "",
            created_at=parse_timestamp(post.get("created_at")),
            metrics=make_metrics(
                likes=metrics.get("like_count"),
                comments=metrics.get("reply_count"),
                shares=None
                if retweets is None and quotes is None
                else (retweets or 0) + (quotes or 0),
                views=metrics.get("impression_count"),
            ),
            own_message=own,
        )
    )


def _parse_activity_delete(
    account_id: str | None, payload: dict[str, Any], result: ParseResult
) -> None:
    post_id = as_id(payload.get("id"))
    if post_id is None:
        result.unknown.append(unknown_label("x", "activity", "post.delete", "missing_id"))
        return
    author_id = as_id(payload.get("author_id"))
    result.items.append(
        ParsedItem(
            change="deleted",
            change_kind="tweet.delete",
            channel=Channel.x,
            account_external_id=account_id,
            external_id=post_id,
            thread_external_id=post_id,
            author=make_author(external_id=author_id),
            own_message=account_id is not None and author_id == account_id,
            deleted_reason="deleted",
        )
    )


def _parse_activity_like(
    account_id: str | None, payload: dict[str, Any], result: ParseResult
) -> None:
    liked_id = as_id(payload.get("liked_tweet_id"))
    if liked_id is None:
        result.unknown.append(unknown_label("x", "activity", "like.create", "missing_id"))
        return
    created_at: datetime | None = parse_timestamp(payload.get("timestamp_ms"))
    liked_author = as_id(payload.get("liked_tweet_author_id"))
    result.items.append(
        ParsedItem(
            change="engagement",
            change_kind="favorite",
            channel=Channel.x,
            account_external_id=account_id,
            external_id=liked_id,
            thread_external_id=liked_id,
            # The payload names the liked Post, not who liked it; an outbound like (the
            # account liking someone else's Post) is flagged as our own action.
            own_message=account_id is not None and liked_author != account_id,
            created_at=created_at,
            engagement_kind="favorite",
            engagement_delta=1,
            dedupe_discriminator=as_id(payload.get("id")),
        )
    )
