"""Where a reply goes: the send kind and target of a case's channel and inbound messages, the
24-hour window of private channels, and each surface's length limit. Pure: no database.

- Facebook: a reply under the customer's latest comment (`comment_reply`).
- Instagram: under the latest comment, or a Direct message when the customer wrote one.
- Messenger: a message to the customer's PSID; WhatsApp: a text to the customer's wa_id. Both
  only within 24 hours of the customer's latest message (Meta's standard messaging window).
- X: a post in reply to the customer's latest post, or a DM when the customer wrote one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events.interactions import Channel
from shared.events.sends import WINDOWED_KINDS, SendKind

MESSAGING_WINDOW = timedelta(hours=24)

# The longest text each surface takes (characters; X counts its weighted length, which the
# guideline check measures, so 280 here is the plain upper bound).
TEXT_LIMITS: dict[SendKind, int] = {
    SendKind.comment_reply: 8000,
    SendKind.private_message: 2000,
    SendKind.whatsapp_message: 4096,
    SendKind.x_reply: 280,
    SendKind.x_dm: 10_000,
}
INSTAGRAM_COMMENT_LIMIT = 2200
INSTAGRAM_MESSAGE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Inbound:
    """The customer's latest message in the case."""

    kind: str | None  # InteractionKind value
    external_id: str | None
    author_external_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Target:
    kind: SendKind
    target_id: str
    last_inbound_at: datetime
    max_length: int


class NoTarget(Exception):
    """Nothing on this case can be answered from socialcare; `code` says why."""

    def __init__(self, code: str, message_en: str, message_es: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.messages = {"en": message_en, "es": message_es}


def _private(channel: Channel, inbound: Inbound) -> bool:
    return inbound.kind == "direct_message" or channel in (Channel.messenger, Channel.whatsapp)


def choose_target(channel: str, inbound: Inbound | None) -> Target:
    try:
        known = Channel(channel)
    except ValueError:
        known = Channel.other
    if inbound is None:
        raise NoTarget(
            "no_inbound_message",
            "the case has no message from the customer to answer",
            "el caso no tiene ningún mensaje del cliente al que responder",
        )
    kind: SendKind
    if known is Channel.facebook:
        kind = SendKind.comment_reply
    elif known is Channel.instagram:
        kind = SendKind.private_message if _private(known, inbound) else SendKind.comment_reply
    elif known is Channel.messenger:
        kind = SendKind.private_message
    elif known is Channel.whatsapp:
        kind = SendKind.whatsapp_message
    elif known is Channel.x:
        kind = SendKind.x_dm if _private(known, inbound) else SendKind.x_reply
    else:
        raise NoTarget(
            "channel_not_supported",
            f"replies cannot be sent on {channel} from socialcare",
            f"desde socialcare no se pueden enviar respuestas en {channel}",
        )
    private = kind in (SendKind.private_message, SendKind.whatsapp_message, SendKind.x_dm)
    target_id = inbound.author_external_id if private else inbound.external_id
    if not target_id:
        raise NoTarget(
            "no_target",
            "the customer's message does not say whom or what to answer",
            "el mensaje del cliente no indica a quién o a qué responder",
        )
    limit = TEXT_LIMITS[kind]
    if known is Channel.instagram:
        limit = INSTAGRAM_MESSAGE_LIMIT if private else INSTAGRAM_COMMENT_LIMIT
    return Target(kind, target_id, inbound.created_at, limit)


def window_closed(target: Target, now: datetime) -> bool:
    """Whether a windowed kind (Messenger, Instagram Direct, WhatsApp) is past its window."""
    return target.kind in WINDOWED_KINDS and now - target.last_inbound_at > MESSAGING_WINDOW
