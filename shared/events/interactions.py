"""Payloads owned by ingest: the canonical Interaction and engagement records (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Channel(StrEnum):
    facebook = "facebook"
    instagram = "instagram"
    messenger = "messenger"
    whatsapp = "whatsapp"
    x = "x"
    google_reviews = "google_reviews"
    youtube = "youtube"
    tiktok = "tiktok"
    linkedin = "linkedin"
    email = "email"
    other = "other"


class InteractionKind(StrEnum):
    comment = "comment"
    reply = "reply"
    mention = "mention"
    post = "post"
    direct_message = "direct_message"
    review = "review"


class SentimentLabel(StrEnum):
    negative = "negative"
    neutral = "neutral"
    positive = "positive"


# Counters are signed 64-bit integers wherever they are stored or read.
MAX_COUNT = 2**63 - 1
# Platform ids (post, comment, message, author, account, thread ids, a sent message's id) are
# kept in columns of this many characters wherever they are stored (ingest, routing, kpi):
# ingest refuses a longer one at its edge (REST 422, a webhook item reported and skipped)
# rather than let it fail a write, and names it builds from one are kept within it too.
MAX_PLATFORM_ID = 200
# A handle and a display name are shown, not matched: one longer than the services store
# (a hostile or broken payload) is cut to fit rather than refused, on every reader.
MAX_HANDLE = 200
MAX_DISPLAY_NAME = 300


def _clip(limit: int) -> AfterValidator:
    def clip(value: str | None) -> str | None:
        return value if value is None or len(value) <= limit else value[:limit]

    return AfterValidator(clip)


class Author(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str | None = None
    handle: Annotated[str | None, _clip(MAX_HANDLE)] = None
    display_name: Annotated[str | None, _clip(MAX_DISPLAY_NAME)] = None
    followers: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    verified: bool | None = None


class Sentiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0)


class Metrics(BaseModel):
    """Engagement counters of an item; None where the platform does not tell."""

    model_config = ConfigDict(extra="forbid")

    likes: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    comments: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    shares: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    views: int | None = Field(default=None, ge=0, le=MAX_COUNT)


class Flags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pii: bool = False
    needs_fetch: bool = False
    own_message: bool = False


class Interaction(BaseModel):
    """One inbound item from any channel, in the shape every service relies on."""

    model_config = ConfigDict(extra="forbid")

    id: str
    brand_id: str
    connection_id: str | None = None
    channel: Channel
    kind: InteractionKind
    external_id: str
    thread_external_id: str
    parent_external_id: str | None = None
    url: str | None = None
    author: Author = Field(default_factory=Author)
    text: str = ""
    lang: str | None = None
    sentiment: Sentiment | None = None
    created_at: datetime
    received_at: datetime
    metrics: Metrics = Field(default_factory=Metrics)
    flags: Flags = Field(default_factory=Flags)

    @property
    def thread_key(self) -> str:
        return thread_key(self.brand_id, self.channel, self.thread_external_id)


def thread_key(brand_id: str, channel: str, thread_external_id: str) -> str:
    """Kafka key that keeps one conversation ordered on one partition."""
    return f"{brand_id}:{channel}:{thread_external_id}"


class InteractionDeleted(BaseModel):
    id: str
    brand_id: str
    channel: Channel
    external_id: str
    thread_external_id: str
    deleted_at: datetime
    reason: str = "deleted"  # deleted | hidden | removed


class EngagementRecorded(BaseModel):
    """Likes, reactions, shares or views of a post or comment (never an interaction)."""

    brand_id: str
    channel: Channel
    external_id: str
    thread_external_id: str
    interaction_id: str | None = None
    kind: str  # like | reaction | share | view | favorite | comment_count
    # Which reaction, as the platform names it: "like", "love", "haha" (Meta), an emoji
    # (WhatsApp); None when the platform does not say.
    reaction_type: str | None = None
    actor_external_id: str | None = None
    delta: Metrics = Field(default_factory=Metrics)
    occurred_at: datetime


class DeliveryStatus(BaseModel):
    """A platform's delivery report on our outbound messages: WhatsApp statuses, Messenger and
    Instagram receipts (`message_deliveries`, `message_reads`, `messaging_seen`).

    JSON contract (`interaction.delivery_status`, keyed by the conversation's thread key):

    - a report on one message: `external_id` is that message's platform id (WhatsApp wamid,
      Messenger / Instagram mid: `send.completed`'s `platform_message_id`), `watermark` null;
    - a watermark report (a Messenger / Instagram receipt without message ids): `watermark` is
      set and the report is about **every message of ours in the conversation
      `thread_external_id` (the customer's PSID / IGSID on the account
      `account_external_id`) sent at or before `watermark`**; `external_id` then names the
      report (`watermark:<customer id>:<epoch ms>`, the customer id replaced by a digest of it
      where the name would pass `MAX_PLATFORM_ID`), not a message.

    `watermark` and `account_external_id` are optional (null when absent), so payloads written
    before them still parse and consumers that ignore them keep working.
    """

    brand_id: str
    channel: Channel
    external_id: str  # our message's platform id (or the watermark report's name, see above)
    thread_external_id: str
    status: str  # sent | delivered | read | failed | deleted
    occurred_at: datetime
    # The brand's account the report came to (page id, IG account id, phone_number_id).
    account_external_id: str | None = None
    # Platform time: every message of ours in the thread sent at or before it is `status`.
    watermark: datetime | None = None
