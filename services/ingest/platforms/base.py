"""What every platform parser returns: platform-neutral items the pipeline turns into events.

A parser knows neither the brand, nor our ids, nor the language or sentiment; it only says what
the platform told us. The ingest pipeline maps a `ParsedItem` with change "received"/"updated" to
an `Interaction`, "deleted" to `InteractionDeleted`, "engagement" to `EngagementRecorded` and
"status" to a delivery update of one of our replies (or, with `status_watermark`, of every
reply of ours in the conversation sent up to that moment).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic_core import from_json

from shared.events.interactions import MAX_PLATFORM_ID, Author, Channel, InteractionKind, Metrics

from .json_values import as_count, as_id, as_text, is_true

ChangeType = Literal["received", "updated", "deleted", "engagement", "status"]
DeletedReason = Literal["deleted", "hidden", "removed"]


class PayloadError(ValueError):
    """The body is not a JSON object at all: the only error a parser raises.

    Everything inside a well-formed object that is not understood is reported in
    `ParseResult.unknown` instead, so one odd entry never loses the rest of a batch.
    """


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One thing a platform told us about, before ingest gives it ids and a brand."""

    change: ChangeType
    # Fixed vocabulary ("comment.add", "message", "reaction.add", "status.read", ...).
    change_kind: str
    channel: Channel
    # The brand's account that received it: page id, IG account id, WhatsApp phone_number_id,
    # X user id. None only when the platform left it out.
    account_external_id: str | None
    # The post, comment or message this item is about (for engagement: the liked item).
    external_id: str
    thread_external_id: str
    kind: InteractionKind | None = None
    parent_external_id: str | None = None
    url: str | None = None
    author: Author = field(default_factory=Author)
    text: str = ""
    # Platform time; None when the payload does not say (the pipeline uses received_at).
    created_at: datetime | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # The payload carried only ids: the pipeline must fetch text/author from the platform API.
    needs_fetch: bool = False
    # Written by the brand's own account (Messenger echoes, own tweets, own DMs).
    own_message: bool = False
    # For change "engagement": like | reaction | share | favorite, with +1/-1 when known.
    engagement_kind: str | None = None
    engagement_delta: int = 0
    reaction_type: str | None = None
    # For change "status": sent | delivered | read | failed | ... of one of our messages.
    status: str | None = None
    # For change "status" on a whole conversation (Messenger / Instagram receipts without
    # message ids): every message of ours in `thread_external_id` sent at or before this
    # platform time has `status`; `external_id` then names the report, not a message.
    status_watermark: datetime | None = None
    # For change "deleted": deleted by its author, hidden by the page, or removed.
    deleted_reason: DeletedReason | None = None
    # Extra discriminator for dedupe when change_kind alone is not unique per external_id
    # (several likes of one post, several edits of one comment).
    dedupe_discriminator: str | None = None

    @property
    def dedupe_key(self) -> str:
        """Dedupe on (connection, external_id, dedupe_key): change_kind plus its discriminator."""
        if self.dedupe_discriminator:
            return f"{self.change_kind}:{self.dedupe_discriminator}"
        return self.change_kind

    def overlong_id(self) -> str | None:
        """The first platform id of the item longer than `MAX_PLATFORM_ID` (the field's name,
        `author.external_id` for the author's), None when every id fits where it is stored."""
        ids = (
            ("external_id", self.external_id),
            ("thread_external_id", self.thread_external_id),
            ("parent_external_id", self.parent_external_id),
            ("account_external_id", self.account_external_id),
            ("author.external_id", self.author.external_id),
        )
        for name, value in ids:
            if value is not None and len(value) > MAX_PLATFORM_ID:
                return name
        return None


@dataclass(slots=True)
class ParseResult:
    """The items understood in one webhook body, and labels of what was not understood."""

    items: list[ParsedItem] = field(default_factory=list)
    # Bounded labels such as "page.feed.event.add", counted by the service in a metric.
    unknown: list[str] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        """Append the items and unknown labels of another result."""
        self.items.extend(other.items)
        self.unknown.extend(other.unknown)


def report_name(kind: str, platform_id: str, suffix: str) -> str:
    """`<kind>:<platform id>:<suffix>`, the external id of a report built from a platform id
    (`watermark:<customer id>:<epoch ms>`). Where that would pass `MAX_PLATFORM_ID`, the id is
    replaced by a digest of it (`<kind>:sha256-<32 hex>:<suffix>`): still one name per id and
    suffix, so a redelivered report is a duplicate, and an id of the full length still works."""
    name = f"{kind}:{platform_id}:{suffix}"
    if len(name) <= MAX_PLATFORM_ID:
        return name
    digest = hashlib.sha256(platform_id.encode()).hexdigest()[:32]
    return f"{kind}:sha256-{digest}:{suffix}"


def load_payload(raw_body: bytes | str) -> dict[str, Any]:
    """Decode a webhook body; raises `PayloadError` unless it is a JSON object."""
    try:
        # pydantic's JSON parser (Rust): several times faster than json.loads, and it refuses
        # bodies that are not UTF-8, as platforms send them.
        decoded = from_json(raw_body)
    except (ValueError, RecursionError) as error:
        raise PayloadError("webhook body is not valid JSON") from error
    return require_object(decoded)


def require_object(payload: object) -> dict[str, Any]:
    """The payload itself when it is a JSON object; raises `PayloadError` otherwise."""
    if not isinstance(payload, dict):
        raise PayloadError(f"webhook body must be a JSON object, not {type(payload).__name__}")
    return payload


def make_author(
    external_id: object = None,
    handle: object = None,
    display_name: object = None,
    followers: object = None,
    verified: object = None,
) -> Author:
    """An `Author` from raw values; anything of the wrong type is dropped instead of raising."""
    return Author(
        external_id=as_id(external_id),
        handle=as_text(handle) or None,
        display_name=as_text(display_name) or None,
        followers=as_count(followers),
        verified=is_true(verified) if isinstance(verified, bool | str) else None,
    )


def make_metrics(
    likes: object = None, comments: object = None, shares: object = None, views: object = None
) -> Metrics:
    """`Metrics` from raw counters; negative or non-numeric values become None."""
    return Metrics(
        likes=as_count(likes),
        comments=as_count(comments),
        shares=as_count(shares),
        views=as_count(views),
    )
