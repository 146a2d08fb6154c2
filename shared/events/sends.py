"""The send hand-off between routing and ingest (DESIGN.md, flow step 3).

Routing holds no platform credentials: once a reply may go out it publishes `send.requested` on
`socialcare.sends`; ingest, which owns the connections and their send tokens, sends it on the
customer's channel and publishes the outcome on the same topic, `send.completed` or
`send.failed`, which routing turns into `reply.sent` / `reply.failed`. Every event is keyed by the
conversation's thread key, so a thread's requests and outcomes stay in order on one partition.

- `send_id` is the reply id. Ingest keeps one row per `send_id`: a request published twice (a
  routing retry, a redelivery) is sent once and answered with the same outcome.
- Exactly one outcome event per `send_id` is published, once the send is final.
- `send.failed` with `reason` `uncertain` means the request may have reached the platform but
  ingest could not confirm it (a timeout, or a restart during the call); it is never sent again
  automatically, and a person should look at the conversation before answering once more.
- WhatsApp's delivery reports (`delivered`, `read`, `failed`) keep arriving as
  `interaction.delivery_status` on `socialcare.interactions`, with `external_id` equal to
  `send.completed`'s `platform_message_id`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.interactions import MAX_PLATFORM_ID, Channel

# The longest text any supported surface takes (a Facebook comment: 8,000); each platform's
# own, shorter limit is for routing's check (X: 280, Messenger: 2,000, WhatsApp: 4,096).
MAX_SEND_TEXT = 8000


class SendKind(StrEnum):
    """What the send answers, and so which platform call makes it."""

    comment_reply = "comment_reply"  # a reply under a Facebook Page or Instagram comment
    private_message = "private_message"  # Messenger or Instagram Direct (24-hour window)
    whatsapp_message = "whatsapp_message"  # WhatsApp Cloud API text (24-hour window)
    x_reply = "x_reply"  # a post in reply to a post on X
    x_dm = "x_dm"  # an X direct message


# The channels each kind can go out on.
KIND_CHANNELS: dict[SendKind, frozenset[Channel]] = {
    SendKind.comment_reply: frozenset({Channel.facebook, Channel.instagram}),
    SendKind.private_message: frozenset({Channel.messenger, Channel.instagram}),
    SendKind.whatsapp_message: frozenset({Channel.whatsapp}),
    SendKind.x_reply: frozenset({Channel.x}),
    SendKind.x_dm: frozenset({Channel.x}),
}
# Kinds the platform accepts only within a window after the customer's last message.
WINDOWED_KINDS = frozenset({SendKind.private_message, SendKind.whatsapp_message})


class SendRequested(BaseModel):
    """`send.requested` (routing → ingest): one reply to send on the customer's channel."""

    model_config = ConfigDict(extra="forbid")

    send_id: str = Field(min_length=1, max_length=100, description="The reply id")
    brand_id: str = Field(min_length=1, max_length=100)
    case_id: str | None = Field(default=None, max_length=100, description="Echoed in outcomes")
    connection_id: str = Field(min_length=1, max_length=36, description="ingest's connection")
    channel: Channel
    thread_key: str = Field(min_length=1, max_length=400)
    kind: SendKind
    target_id: str = Field(
        min_length=1,
        max_length=MAX_PLATFORM_ID,
        description=(
            "comment_reply: the comment id; private_message: the customer's PSID (Messenger) "
            "or IGSID (Instagram); whatsapp_message: the customer's wa_id; x_reply: the id of "
            "the post answered; x_dm: the customer's X user id (the DM participant)"
        ),
    )
    text: str = Field(min_length=1, max_length=MAX_SEND_TEXT)
    requested_at: datetime
    last_inbound_at: datetime | None = Field(
        default=None,
        description=(
            "Platform time of the customer's latest message in the thread; required for "
            "private_message and whatsapp_message (the 24-hour window is measured from it)"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.channel not in KIND_CHANNELS[self.kind]:
            raise ValueError(f"a {self.kind.value} cannot go out on channel {self.channel.value}")
        if self.kind in WINDOWED_KINDS and self.last_inbound_at is None:
            raise ValueError(f"a {self.kind.value} needs last_inbound_at (24-hour window)")
        for moment in (self.requested_at, self.last_inbound_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times must carry a time zone (RFC 3339)")
        if not self.text.strip():
            raise ValueError("text may not be blank")
        return self


class SendFailureReason(StrEnum):
    permanent = "permanent"  # the platform refused it for good (token, deleted target, ...)
    window_closed = "window_closed"  # outside the 24-hour window: refused before sending
    retries_exhausted = "retries_exhausted"  # rate limits or outages outlasted the retries
    uncertain = "uncertain"  # may have reached the platform; not repeated (see module doc)


class PlatformError(BaseModel):
    """The platform's own error, kept as it answered (None fields: it did not say)."""

    model_config = ConfigDict(extra="forbid")

    http_status: int | None = None
    code: str | None = None  # Graph API `error.code`, X problem `type` or error code
    subcode: str | None = None  # Graph API `error_subcode`
    type: str | None = None  # Graph API `error.type`, X problem `title`
    message: str | None = Field(default=None, max_length=2000)
    trace_id: str | None = None  # Graph API `fbtrace_id`


class _SendOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_id: str
    brand_id: str
    case_id: str | None = None
    connection_id: str
    channel: Channel
    thread_key: str
    kind: SendKind
    attempts: int = Field(ge=0, description="Requests made to the platform for this send")


class SendCompleted(_SendOutcome):
    """`send.completed` (ingest → routing): the platform accepted the message."""

    platform_message_id: str = Field(
        description="Comment id, Messenger mid, WhatsApp wamid, post id or DM event id"
    )
    sent_at: datetime


class SendFailed(_SendOutcome):
    """`send.failed` (ingest → routing): final; nothing more will be tried for this send."""

    reason: SendFailureReason
    # A stable code of ours: token_invalid, permission_denied, target_not_found, window_closed,
    # rate_limited, platform_unavailable, rejected, connection_not_found, token_missing,
    # timeout, interrupted.
    code: str
    messages: dict[str, str] = Field(
        description="What happened, for people: {'en': ..., 'es': ...}"
    )
    platform_error: PlatformError | None = None
    failed_at: datetime


SEND_EVENT_TYPES = ("send.requested", "send.completed", "send.failed")
