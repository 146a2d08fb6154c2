"""Meta webhooks: Facebook Page `feed`/`mention` changes, Messenger and Instagram.

One Meta app posts every subscribed object to the same callback, so `parse_meta_payload` also
hands WhatsApp Business Account bodies to the WhatsApp parser.

Shapes handled (Graph API webhooks reference, Messenger Platform reference, restfb test data):
- `{"object": "page", "entry": [{"id", "time", "changes": [{"field": "feed", "value"}]}]}`
- `{"object": "page" | "instagram", "entry": [{"id", "time", "messaging": [event, ...]}]}`
- Instagram `changes` fields `comments`, `live_comments`, `mentions`, and messaging fields
  (`messages`, `message_reactions`, ...) either in `changes[]` or in the flat form where the
  entry itself carries `field` and `value`.

Receipts of the messages we sent (Messenger `message_deliveries` / `message_reads`, Instagram
`messaging_seen`) become "status" items. In a receipt the `sender` is the customer and the
`recipient` the page or IG account:
- `{"delivery": {"mids": ["m_..."], "watermark": 1458668856253}}`: one `delivered` item per mid;
- `{"read": {"mid": "..."}}` (Instagram): a `read` item for that message;
- `{"delivery": {"watermark": ...}}` (`mids` may be absent) or `{"read": {"watermark": ...}}`:
  one item with `status_watermark` — every message of ours in the customer's conversation sent
  at or before the watermark is delivered / read. Its `external_id` names the report
  (`watermark:<customer id>:<epoch ms>`, `base.report_name`), so a later watermark is a new
  item and a redelivered one a duplicate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events.interactions import Author, Channel, InteractionKind

from .base import (
    ChangeType,
    DeletedReason,
    ParsedItem,
    ParseResult,
    make_author,
    report_name,
    require_object,
)
from .json_values import (
    as_id,
    as_object,
    as_object_list,
    as_text,
    epoch_milliseconds,
    is_true,
    nested,
    parse_timestamp,
    unknown_label,
)
from .whatsapp import parse_whatsapp_payload

# Feed items that are posts of the page (or visitor posts on it).
_POST_ITEMS = frozenset({"status", "post", "photo", "video", "album", "link", "note"})
# Messaging fields Meta may deliver as `changes` (or flat) whose value is a messaging event.
_MESSAGING_FIELDS = frozenset(
    {
        "messages",
        "message_echoes",
        "message_edits",
        "message_reactions",
        "messaging_postbacks",
        "messaging_seen",
        "message_deliveries",
        "message_reads",
        "standby",
    }
)
# Typing indicators: acknowledged and dropped, never counted as unknown.
_IGNORED_MESSAGING_KEYS = ("typing_on", "typing_off")
# Receipts of messages we sent: the event key and the delivery state it reports.
_RECEIPT_STATES = {"delivery": "delivered", "read": "read"}
_VERB_CHANGES: dict[str, tuple[ChangeType, DeletedReason | None]] = {
    "add": ("received", None),
    "edited": ("updated", None),
    "edit": ("updated", None),
    "unhide": ("updated", None),
    "remove": ("deleted", "deleted"),
    "delete": ("deleted", "deleted"),
    "hide": ("deleted", "hidden"),
    "block": ("deleted", "removed"),
}
_ENGAGEMENT_DELTAS = {"add": 1, "remove": -1, "edit": 0, "edited": 0}


def parse_meta_payload(payload: object) -> ParseResult:
    """Parse any body Meta posts to the app's webhook callback.

    Raises `PayloadError` only when the body is not a JSON object; anything else that is not
    understood is reported in `ParseResult.unknown`.
    """
    body = require_object(payload)
    platform_object = body.get("object")
    if platform_object == "whatsapp_business_account":
        return parse_whatsapp_payload(body)
    result = ParseResult()
    if platform_object not in ("page", "instagram"):
        result.unknown.append(unknown_label("meta", "object", platform_object))
        return result
    if not isinstance(body.get("entry"), list):
        result.unknown.append(unknown_label(platform_object, "entry", "missing"))
        return result
    for entry in body["entry"]:
        entry_object = as_object(entry)
        if entry_object is None:
            result.unknown.append(unknown_label(platform_object, "entry", "not_object"))
            continue
        _parse_entry(platform_object, entry_object, result)
    return result


def _parse_entry(platform_object: str, entry: dict[str, Any], result: ParseResult) -> None:
    account_id = as_id(entry.get("id"))
    entry_time = parse_timestamp(entry.get("time"))
    understood_shape = False
    if "changes" in entry:
        understood_shape = True
        for change in _objects_or_report(entry["changes"], platform_object, "changes", result):
            _parse_change(platform_object, account_id, entry_time, change, result)
    for key in ("messaging", "standby"):
        # `standby` carries the same events while another app owns the conversation.
        if key in entry:
            understood_shape = True
            for event in _objects_or_report(entry[key], platform_object, key, result):
                _parse_messaging_event(platform_object, account_id, event, result)
    if "field" in entry and "value" in entry:
        # Flat form (Instagram, dashboard test sends): the entry itself is the change.
        understood_shape = True
        _parse_change(platform_object, account_id, entry_time, entry, result)
    if not understood_shape:
        result.unknown.append(unknown_label(platform_object, "entry", "no_changes"))


def _objects_or_report(
    value: object, platform_object: str, key: str, result: ParseResult
) -> list[dict[str, Any]]:
    objects = as_object_list(value)
    if not isinstance(value, list) or len(objects) != len(value):
        result.unknown.append(unknown_label(platform_object, key, "malformed"))
    return objects


def _parse_change(
    platform_object: str,
    account_id: str | None,
    entry_time: datetime | None,
    change: dict[str, Any],
    result: ParseResult,
) -> None:
    field_name = change.get("field")
    value = as_object(change.get("value"))
    if not isinstance(field_name, str) or value is None:
        result.unknown.append(unknown_label(platform_object, "change", "malformed"))
        return
    if field_name in _MESSAGING_FIELDS and ("sender" in value or "recipient" in value):
        _parse_messaging_event(platform_object, account_id, value, result)
        return
    if platform_object == "page" and field_name == "feed":
        _parse_feed_change(account_id, entry_time, value, result)
    elif platform_object == "page" and field_name == "mention":
        _parse_page_mention(account_id, entry_time, value, result)
    elif platform_object == "instagram" and field_name in ("comments", "live_comments"):
        _parse_instagram_comment(account_id, entry_time, field_name, value, result)
    elif platform_object == "instagram" and field_name == "mentions":
        _parse_instagram_mention(account_id, entry_time, value, result)
    else:
        result.unknown.append(unknown_label(platform_object, field_name))


def _feed_author(value: dict[str, Any]) -> Author:
    sender = as_object(value.get("from"))
    if sender is not None:
        return make_author(external_id=sender.get("id"), display_name=sender.get("name"))
    # Older feed payloads name the author with flat sender_id / sender_name.
    return make_author(external_id=value.get("sender_id"), display_name=value.get("sender_name"))


def _feed_url(value: dict[str, Any]) -> str | None:
    for candidate in (value.get("permalink_url"), nested(value, "post", "permalink_url")):
        if isinstance(candidate, str) and candidate.startswith("https://"):
            return candidate
    return None


def _text_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _parse_feed_change(
    account_id: str | None,
    entry_time: datetime | None,
    value: dict[str, Any],
    result: ParseResult,
) -> None:
    item_type = value.get("item")
    verb = value.get("verb")
    if not isinstance(item_type, str) or not isinstance(verb, str):
        result.unknown.append(unknown_label("page", "feed", item_type, verb))
        return
    if item_type in ("reaction", "like", "share"):
        _parse_feed_engagement(account_id, entry_time, item_type, verb, value, result)
        return
    if item_type != "comment" and item_type not in _POST_ITEMS:
        result.unknown.append(unknown_label("page", "feed", item_type, verb))
        return
    change_and_reason = _VERB_CHANGES.get(verb)
    if change_and_reason is None:
        result.unknown.append(unknown_label("page", "feed", item_type, verb))
        return
    change, deleted_reason = change_and_reason
    author = _feed_author(value)
    post_id = as_id(value.get("post_id"))
    text = _feed_text(value)
    if item_type == "comment":
        external_id = as_id(value.get("comment_id"))
        parent_id = as_id(value.get("parent_id")) or post_id
        kind = (
            InteractionKind.reply if parent_id and parent_id != post_id else InteractionKind.comment
        )
        thread_id = post_id or parent_id or external_id
        family = "comment"
    else:
        external_id = post_id or as_id(value.get("share_id"))
        parent_id = None
        kind = InteractionKind.post
        thread_id = external_id
        family = "post"
    if external_id is None or thread_id is None:
        result.unknown.append(unknown_label("page", "feed", item_type, "missing_id"))
        return
    result.items.append(
        ParsedItem(
            change=change,
            change_kind=f"{family}.{'edited' if verb == 'edit' else verb}",
            channel=Channel.facebook,
            account_external_id=account_id,
            external_id=external_id,
            thread_external_id=thread_id,
            kind=kind,
            parent_external_id=parent_id,
            url=_feed_url(value),
            author=author,
            text=text,
            created_at=parse_timestamp(value.get("created_time")) or entry_time,
            own_message=account_id is not None and author.external_id == account_id,
            deleted_reason=deleted_reason,
            # Every edit is a new version; redeliveries of the same edit carry the same text.
            dedupe_discriminator=_text_fingerprint(text) if change == "updated" else None,
        )
    )


def _feed_text(value: dict[str, Any]) -> str:
    text = as_text(value.get("message")) or ""
    attachments = [f"[{name}]" for name in ("photo", "video") if isinstance(value.get(name), str)]
    if isinstance(value.get("photos"), list):
        attachments.append("[photo]")
    return " ".join([*attachments, text]).strip() if attachments else text


def _parse_feed_engagement(
    account_id: str | None,
    entry_time: datetime | None,
    item_type: str,
    verb: str,
    value: dict[str, Any],
    result: ParseResult,
) -> None:
    if verb not in _ENGAGEMENT_DELTAS:
        result.unknown.append(unknown_label("page", "feed", item_type, verb))
        return
    post_id = as_id(value.get("post_id"))
    # Likes and reactions of a comment name it in comment_id; otherwise the post is the target.
    target_id = as_id(value.get("comment_id")) or post_id or as_id(value.get("parent_id"))
    if target_id is None:
        result.unknown.append(unknown_label("page", "feed", item_type, "missing_id"))
        return
    author = _feed_author(value)
    created_at = parse_timestamp(value.get("created_time")) or entry_time
    reaction_type = as_text(value.get("reaction_type"))
    result.items.append(
        ParsedItem(
            change="engagement",
            change_kind=f"{item_type}.{verb}",
            channel=Channel.facebook,
            account_external_id=account_id,
            external_id=target_id,
            thread_external_id=post_id or target_id,
            author=author,
            created_at=created_at,
            own_message=account_id is not None and author.external_id == account_id,
            engagement_kind=item_type,
            engagement_delta=_ENGAGEMENT_DELTAS.get(verb, 0),
            reaction_type=reaction_type,
            url=_feed_url(value),
            dedupe_discriminator=(
                f"{author.external_id or ''}:{reaction_type or ''}:"
                f"{as_id(value.get('share_id')) or ''}:{epoch_milliseconds(created_at)}"
            ),
        )
    )


def _parse_page_mention(
    account_id: str | None,
    entry_time: datetime | None,
    value: dict[str, Any],
    result: ParseResult,
) -> None:
    verb = value.get("verb")
    change_and_reason = _VERB_CHANGES.get(verb) if isinstance(verb, str) else None
    post_id = as_id(value.get("post_id"))
    comment_id = as_id(value.get("comment_id"))
    mentioned_in_comment = value.get("item") == "comment" and comment_id is not None
    external_id = comment_id if mentioned_in_comment else post_id
    if change_and_reason is None or external_id is None:
        result.unknown.append(unknown_label("page", "mention", value.get("item"), verb))
        return
    change, deleted_reason = change_and_reason
    author = _feed_author(value)
    text = as_text(value.get("message")) or ""
    result.items.append(
        ParsedItem(
            change=change,
            change_kind=f"mention.{'edited' if verb == 'edit' else verb}",
            channel=Channel.facebook,
            account_external_id=account_id,
            external_id=external_id,
            thread_external_id=post_id or external_id,
            kind=InteractionKind.mention,
            parent_external_id=post_id if mentioned_in_comment else None,
            url=_feed_url(value),
            author=author,
            text=text,
            created_at=parse_timestamp(value.get("created_time")) or entry_time,
            # Mention webhooks often carry only ids; the rest comes from the Graph API.
            needs_fetch=change != "deleted" and (not text or author.external_id is None),
            deleted_reason=deleted_reason,
            dedupe_discriminator=_text_fingerprint(text) if change == "updated" else None,
        )
    )


def _parse_instagram_comment(
    account_id: str | None,
    entry_time: datetime | None,
    field_name: str,
    value: dict[str, Any],
    result: ParseResult,
) -> None:
    comment_id = as_id(value.get("id"))
    media_id = as_id(nested(value, "media", "id")) or as_id(value.get("media_id"))
    parent_id = as_id(value.get("parent_id"))
    if comment_id is None:
        result.unknown.append(unknown_label("instagram", field_name, "missing_id"))
        return
    sender = as_object(value.get("from")) or {}
    author = make_author(external_id=sender.get("id"), handle=sender.get("username"))
    text = as_text(value.get("text")) or ""
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="live_comment.add" if field_name == "live_comments" else "comment.add",
            channel=Channel.instagram,
            account_external_id=account_id,
            external_id=comment_id,
            thread_external_id=media_id or parent_id or comment_id,
            kind=InteractionKind.reply if parent_id else InteractionKind.comment,
            parent_external_id=parent_id or media_id,
            author=author,
            text=text,
            created_at=parse_timestamp(value.get("timestamp")) or entry_time,
            own_message=account_id is not None and author.external_id == account_id,
            needs_fetch=not text,
        )
    )


def _parse_instagram_mention(
    account_id: str | None,
    entry_time: datetime | None,
    value: dict[str, Any],
    result: ParseResult,
) -> None:
    media_id = as_id(value.get("media_id"))
    comment_id = as_id(value.get("comment_id"))
    external_id = comment_id or media_id
    if external_id is None:
        result.unknown.append(unknown_label("instagram", "mentions", "missing_id"))
        return
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="mention.add",
            channel=Channel.instagram,
            account_external_id=account_id,
            external_id=external_id,
            thread_external_id=media_id or external_id,
            kind=InteractionKind.mention,
            parent_external_id=media_id if comment_id else None,
            created_at=entry_time,
            # Only ids arrive: text, author and permalink must be fetched with the Graph API.
            needs_fetch=True,
        )
    )


def _parse_messaging_event(
    platform_object: str,
    account_id: str | None,
    event: dict[str, Any],
    result: ParseResult,
) -> None:
    channel = Channel.instagram if platform_object == "instagram" else Channel.messenger
    sender_id = as_id(nested(event, "sender", "id"))
    recipient_id = as_id(nested(event, "recipient", "id"))
    created_at = parse_timestamp(event.get("timestamp"))
    message = as_object(event.get("message"))
    is_echo = message is not None and is_true(message.get("is_echo"))
    own = is_echo or (account_id is not None and sender_id == account_id)
    # The conversation is named after the customer, whichever side wrote.
    customer_id = recipient_id if own else sender_id
    context = _MessagingContext(
        channel=channel,
        account_id=account_id or (sender_id if own else recipient_id),
        sender=make_author(
            external_id=sender_id,
            handle=nested(event, "sender", "username"),
            display_name=nested(event, "sender", "name"),
        ),
        customer_id=customer_id,
        created_at=created_at,
        own=own,
    )
    if message is not None:
        _parse_messaging_message(context, message, result, platform_object)
    elif (edit := as_object(event.get("message_edit"))) is not None:
        _parse_messaging_edit(context, edit, result, platform_object)
    elif (reaction := as_object(event.get("reaction"))) is not None:
        _parse_messaging_reaction(context, reaction, result, platform_object)
    elif (postback := as_object(event.get("postback"))) is not None:
        _parse_messaging_postback(context, postback, result)
    elif (receipt_key := next((key for key in _RECEIPT_STATES if key in event), None)) is not None:
        _parse_messaging_receipt(context, receipt_key, event[receipt_key], result, platform_object)
    elif any(key in event for key in _IGNORED_MESSAGING_KEYS):
        return
    else:
        other_keys = sorted(set(event) - {"sender", "recipient", "timestamp"})
        result.unknown.append(
            unknown_label(platform_object, "messaging", other_keys[0] if other_keys else None)
        )


@dataclass(frozen=True, slots=True)
class _MessagingContext:
    """What every messaging event shares: who wrote, in which conversation, when."""

    channel: Channel
    account_id: str | None
    sender: Author
    customer_id: str | None
    created_at: datetime | None
    own: bool


def _summarise_attachments(message: dict[str, Any]) -> list[str]:
    summaries: list[str] = []
    for attachment in as_object_list(message.get("attachments")):
        attachment_type = as_text(attachment.get("type")) or "attachment"
        title = as_text(attachment.get("title")) or as_text(nested(attachment, "payload", "title"))
        summaries.append(
            f"[{attachment_type}] {title}".strip() if title else f"[{attachment_type}]"
        )
    if message.get("sticker_id") is not None and not summaries:
        summaries.append("[sticker]")
    if is_true(message.get("is_unsupported")):
        summaries.append("[unsupported]")
    return summaries


def _parse_messaging_message(
    context: _MessagingContext,
    message: dict[str, Any],
    result: ParseResult,
    platform_object: str,
) -> None:
    message_id = as_id(message.get("mid"))
    if message_id is None:
        result.unknown.append(unknown_label(platform_object, "messaging", "message_without_mid"))
        return
    thread_id = context.customer_id or message_id
    if is_true(message.get("is_deleted")):
        result.items.append(
            ParsedItem(
                change="deleted",
                change_kind="message.delete",
                channel=context.channel,
                account_external_id=context.account_id,
                external_id=message_id,
                thread_external_id=thread_id,
                kind=InteractionKind.direct_message,
                author=context.sender,
                created_at=context.created_at,
                own_message=context.own,
                deleted_reason="deleted",
            )
        )
        return
    parts = [*_summarise_attachments(message), as_text(message.get("text")) or ""]
    reply_to = as_object(message.get("reply_to")) or {}
    if reply_to.get("story") is not None:
        parts.insert(0, "[story reply]")
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="message",
            channel=context.channel,
            account_external_id=context.account_id,
            external_id=message_id,
            thread_external_id=thread_id,
            kind=InteractionKind.direct_message,
            parent_external_id=as_id(reply_to.get("mid")),
            author=context.sender,
            text=" ".join(part for part in parts if part),
            created_at=context.created_at,
            own_message=context.own,
        )
    )


def _parse_messaging_edit(
    context: _MessagingContext,
    edit: dict[str, Any],
    result: ParseResult,
    platform_object: str,
) -> None:
    message_id = as_id(edit.get("mid"))
    if message_id is None:
        result.unknown.append(unknown_label(platform_object, "messaging", "edit_without_mid"))
        return
    text = as_text(edit.get("text")) or ""
    result.items.append(
        ParsedItem(
            change="updated",
            change_kind="message.edited",
            channel=context.channel,
            account_external_id=context.account_id,
            external_id=message_id,
            thread_external_id=context.customer_id or message_id,
            kind=InteractionKind.direct_message,
            author=context.sender,
            text=text,
            created_at=context.created_at,
            own_message=context.own,
            dedupe_discriminator=as_id(edit.get("num_edit")) or _text_fingerprint(text),
        )
    )


def _parse_messaging_reaction(
    context: _MessagingContext,
    reaction: dict[str, Any],
    result: ParseResult,
    platform_object: str,
) -> None:
    message_id = as_id(reaction.get("mid"))
    if message_id is None:
        result.unknown.append(unknown_label(platform_object, "messaging", "reaction_without_mid"))
        return
    action = as_text(reaction.get("action")) or "react"
    result.items.append(
        ParsedItem(
            change="engagement",
            change_kind=f"reaction.{'unreact' if action == 'unreact' else 'react'}",
            channel=context.channel,
            account_external_id=context.account_id,
            external_id=message_id,
            thread_external_id=context.customer_id or message_id,
            author=context.sender,
            created_at=context.created_at,
            own_message=context.own,
            engagement_kind="reaction",
            engagement_delta=-1 if action == "unreact" else 1,
            reaction_type=as_text(reaction.get("reaction")) or as_text(reaction.get("emoji")),
            dedupe_discriminator=(
                f"{context.sender.external_id or ''}:{epoch_milliseconds(context.created_at)}"
            ),
        )
    )


def _parse_messaging_postback(
    context: _MessagingContext, postback: dict[str, Any], result: ParseResult
) -> None:
    title = as_text(postback.get("title")) or as_text(postback.get("payload")) or ""
    # Postbacks (button taps) have a mid on Instagram; Messenger ones only have a timestamp.
    external_id = as_id(postback.get("mid")) or report_name(
        "postback", context.sender.external_id or "", epoch_milliseconds(context.created_at)
    )
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="postback",
            channel=context.channel,
            account_external_id=context.account_id,
            external_id=external_id,
            thread_external_id=context.customer_id or external_id,
            kind=InteractionKind.direct_message,
            author=context.sender,
            text=f"[postback] {title}".strip(),
            created_at=context.created_at,
            own_message=context.own,
        )
    )


def _parse_messaging_receipt(
    context: _MessagingContext,
    receipt_key: str,
    value: object,
    result: ParseResult,
    platform_object: str,
) -> None:
    """A delivery or read receipt: per-message items when it names messages, else one
    watermark item for the whole conversation (Meta's `mids` "may not be present")."""
    receipt = as_object(value)
    state = _RECEIPT_STATES[receipt_key]
    mids = receipt.get("mids") if receipt is not None else None
    listed = mids if isinstance(mids, list) else [receipt.get("mid") if receipt else None]
    message_ids = list(dict.fromkeys(mid for mid in map(as_id, listed) if mid is not None))
    watermark = parse_timestamp(receipt.get("watermark")) if receipt is not None else None
    customer_id = context.customer_id
    if receipt is not None and message_ids:
        for message_id in message_ids:
            result.items.append(
                _receipt_item(context, state, message_id, customer_id or message_id)
            )
    elif receipt is not None and watermark is not None and customer_id is not None:
        name = report_name("watermark", customer_id, _watermark_milliseconds(receipt))
        result.items.append(_receipt_item(context, state, name, customer_id, watermark))
    else:
        result.unknown.append(unknown_label(platform_object, "messaging", receipt_key, "malformed"))


def _receipt_item(
    context: _MessagingContext,
    state: str,
    external_id: str,
    thread_id: str,
    watermark: datetime | None = None,
) -> ParsedItem:
    return ParsedItem(
        change="status",
        change_kind=f"status.{state}",
        channel=context.channel,
        account_external_id=context.account_id,
        external_id=external_id,
        thread_external_id=thread_id,
        # The report is about our own messages, as WhatsApp's statuses are.
        author=make_author(external_id=context.account_id),
        created_at=context.created_at,
        own_message=True,
        status=state,
        status_watermark=watermark,
    )


def _watermark_milliseconds(receipt: dict[str, Any]) -> str:
    """The watermark as Meta sent it (epoch milliseconds), without a float's rounding."""
    raw = receipt.get("watermark")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        return raw.strip()
    return epoch_milliseconds(parse_timestamp(raw))
