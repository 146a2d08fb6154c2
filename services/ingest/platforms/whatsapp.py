"""WhatsApp Cloud API webhooks (`object: "whatsapp_business_account"`).

`entry[].changes[]` with `field: "messages"` carry inbound `messages` (with `contacts` naming
the senders) and `statuses` of the messages we sent, under `metadata.phone_number_id` — the
brand's number that received them. The conversation is the customer's `wa_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.interactions import Author, Channel, InteractionKind

from .base import ParsedItem, ParseResult, make_author, require_object
from .json_values import (
    as_id,
    as_object,
    as_object_list,
    as_text,
    nested,
    parse_timestamp,
    unknown_label,
)

# Media messages: summarised as "[type] caption" (or the file name of a document).
_MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker", "voice"})


def parse_whatsapp_payload(payload: object) -> ParseResult:
    """Parse a WhatsApp Business Account webhook body.

    Raises `PayloadError` only when the body is not a JSON object.
    """
    body = require_object(payload)
    result = ParseResult()
    if body.get("object") != "whatsapp_business_account":
        result.unknown.append(unknown_label("whatsapp", "object", body.get("object")))
        return result
    if not isinstance(body.get("entry"), list):
        result.unknown.append(unknown_label("whatsapp", "entry", "missing"))
        return result
    for entry in body["entry"]:
        entry_object = as_object(entry)
        changes = entry_object.get("changes") if entry_object is not None else None
        if not isinstance(changes, list):
            result.unknown.append(unknown_label("whatsapp", "entry", "malformed"))
            continue
        for change in changes:
            change_object = as_object(change) or {}
            value = as_object(change_object.get("value"))
            if change_object.get("field") != "messages" or value is None:
                result.unknown.append(unknown_label("whatsapp", change_object.get("field")))
                continue
            _parse_messages_value(value, result)
    return result


def _parse_messages_value(value: dict[str, Any], result: ParseResult) -> None:
    account_id = as_id(nested(value, "metadata", "phone_number_id"))
    profile_names: dict[str, str] = {}
    for contact in as_object_list(value.get("contacts")):
        wa_id = as_id(contact.get("wa_id"))
        name = as_text(nested(contact, "profile", "name"))
        if wa_id and name:
            profile_names[wa_id] = name
    for message in as_object_list(value.get("messages")):
        _parse_message(account_id, profile_names, message, result)
    for status in as_object_list(value.get("statuses")):
        _parse_status(account_id, status, result)
    if value.get("errors") is not None:
        result.unknown.append(unknown_label("whatsapp", "messages", "errors"))
    known_keys = {"messaging_product", "metadata", "contacts", "messages", "statuses", "errors"}
    for key in sorted(set(value) - known_keys):
        result.unknown.append(unknown_label("whatsapp", "messages", key))


def summarise_message(message: dict[str, Any]) -> str | None:
    """The text of a WhatsApp message, or a "[type] detail" summary of a non-text one.

    Returns None for a type this parser does not know.
    """
    message_type = as_text(message.get("type")) or ("text" if "text" in message else None)
    content = as_object(message.get(message_type)) if message_type else None
    content = content or {}
    if message_type == "text":
        return as_text(content.get("body")) or ""
    if message_type in _MEDIA_TYPES:
        detail = as_text(content.get("caption")) or as_text(content.get("filename")) or ""
        return f"[{message_type}] {detail}".strip()
    if message_type == "location":
        place = [as_text(content.get(key)) for key in ("name", "address")]
        named = ", ".join(part for part in place if part)
        if not named:
            latitude, longitude = content.get("latitude"), content.get("longitude")
            if isinstance(latitude, int | float) and isinstance(longitude, int | float):
                named = f"{latitude}, {longitude}"
        return f"[location] {named}".strip()
    if message_type == "contacts":
        names = [
            as_text(nested(contact, "name", "formatted_name"))
            for contact in as_object_list(message.get("contacts"))
        ]
        return f"[contacts] {', '.join(name for name in names if name)}".strip()
    if message_type == "interactive":
        reply = as_object(content.get("button_reply")) or as_object(content.get("list_reply"))
        reply = reply or as_object(content.get("nfm_reply")) or {}
        title = as_text(reply.get("title")) or as_text(reply.get("body")) or ""
        return f"[interactive] {title}".strip()
    if message_type == "button":
        return f"[button] {as_text(content.get('text')) or ''}".strip()
    if message_type == "reaction":
        return f"[reaction] {as_text(content.get('emoji')) or ''}".strip()
    if message_type == "order":
        count = len(as_object_list(content.get("product_items")))
        return f"[order] {count} items"
    if message_type == "system":
        return f"[system] {as_text(content.get('body')) or ''}".strip()
    if message_type in ("unsupported", "unknown"):
        return "[unsupported]"
    return None


def _parse_message(
    account_id: str | None,
    profile_names: dict[str, str],
    message: dict[str, Any],
    result: ParseResult,
) -> None:
    message_id = as_id(message.get("id"))
    sender_id = as_id(message.get("from"))
    summary = summarise_message(message)
    if message_id is None or sender_id is None or summary is None:
        result.unknown.append(unknown_label("whatsapp", "message", message.get("type")))
        return
    author = make_author(
        external_id=sender_id, handle=sender_id, display_name=profile_names.get(sender_id)
    )
    created_at = parse_timestamp(message.get("timestamp"))
    if message.get("type") == "reaction":
        _append_reaction(account_id, author, message_id, created_at, message, summary, result)
        return
    result.items.append(
        ParsedItem(
            change="received",
            change_kind="message",
            channel=Channel.whatsapp,
            account_external_id=account_id,
            external_id=message_id,
            thread_external_id=sender_id,
            kind=InteractionKind.direct_message,
            # A reply to a specific message (ours or theirs) names it in context.id.
            parent_external_id=as_id(nested(message, "context", "id")),
            author=author,
            text=summary,
            created_at=created_at,
        )
    )


def _append_reaction(
    account_id: str | None,
    author: Author,
    message_id: str,
    created_at: datetime | None,
    message: dict[str, Any],
    summary: str,
    result: ParseResult,
) -> None:
    # A reaction is engagement on the message it names; an empty emoji removes it.
    reacted_to = as_id(nested(message, "reaction", "message_id")) or message_id
    emoji = as_text(nested(message, "reaction", "emoji"))
    result.items.append(
        ParsedItem(
            change="engagement",
            change_kind="reaction.react" if emoji else "reaction.unreact",
            channel=Channel.whatsapp,
            account_external_id=account_id,
            external_id=reacted_to,
            thread_external_id=author.external_id or message_id,
            author=author,
            text=summary,
            created_at=created_at,
            engagement_kind="reaction",
            engagement_delta=1 if emoji else -1,
            reaction_type=emoji or None,
            dedupe_discriminator=message_id,
        )
    )


def _parse_status(account_id: str | None, status: dict[str, Any], result: ParseResult) -> None:
    message_id = as_id(status.get("id"))
    state = as_text(status.get("status"))
    recipient_id = as_id(status.get("recipient_id"))
    if message_id is None or not state:
        result.unknown.append(unknown_label("whatsapp", "status", "malformed"))
        return
    errors = as_object_list(status.get("errors"))
    error_text = (as_text(errors[0].get("title")) or "") if errors else ""
    result.items.append(
        ParsedItem(
            change="status",
            change_kind=f"status.{unknown_label(state)}",
            channel=Channel.whatsapp,
            account_external_id=account_id,
            external_id=message_id,
            thread_external_id=recipient_id or message_id,
            author=make_author(external_id=account_id),
            text=error_text,
            created_at=parse_timestamp(status.get("timestamp")),
            own_message=True,
            status=state,
        )
    )
