"""The send hand-off contract routing and ingest share (shared/events/sends.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import topics
from shared.events.envelope import Envelope
from shared.events.registry import EVENT_TYPES, topic_for
from shared.events.sends import (
    PlatformError,
    SendCompleted,
    SendFailed,
    SendFailureReason,
    SendKind,
    SendRequested,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
REQUEST: dict[str, Any] = {
    "send_id": "rep_1",
    "brand_id": "acme",
    "case_id": "cas_1",
    "connection_id": "6f1c1f9e-1111-4222-8333-444455556666",
    "channel": "messenger",
    "thread_key": "acme:messenger:6543210",
    "kind": "private_message",
    "target_id": "6543210",
    "text": "Hola Marta, ¿nos confirma su número de pedido?",
    "requested_at": NOW,
    "last_inbound_at": NOW,
}


def test_send_types_are_on_the_internal_sends_topic() -> None:
    assert topics.SENDS in topics.INTERNAL_TOPICS
    assert topics.dlq_topic(topics.SENDS) in topics.all_topics()
    for name in ("send.requested", "send.completed", "send.failed"):
        assert topic_for(name) == topics.SENDS
    assert EVENT_TYPES["send.requested"].owner == "routing"
    assert EVENT_TYPES["send.completed"].owner == "ingest"
    assert EVENT_TYPES["send.failed"].owner == "ingest"


def test_a_request_round_trips_through_kafka_keyed_by_thread() -> None:
    request = SendRequested.model_validate(REQUEST)
    envelope = Envelope(
        type="send.requested", source="/socialcare/routing", key=request.thread_key, data=request
    )
    key, value, headers = envelope.to_kafka()
    again = Envelope.from_kafka(key, value, headers)
    assert again.key == "acme:messenger:6543210"
    assert again.data == request


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "whatsapp"}, "channel"),  # a private_message cannot go out on WhatsApp
        ({"kind": "x_dm"}, "channel"),
        ({"last_inbound_at": None}, "last_inbound_at"),  # the window needs it
        ({"text": "   "}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 8001}, "text"),
        ({"requested_at": datetime(2026, 12, 1, 10, 0)}, "time zone"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_inconsistent_requests_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SendRequested.model_validate({**REQUEST, **changes})
    assert field in str(refused.value)


def test_comment_and_x_replies_need_no_window() -> None:
    for kind, channel in (
        (SendKind.comment_reply, "facebook"),
        (SendKind.comment_reply, "instagram"),
        (SendKind.x_reply, "x"),
        (SendKind.x_dm, "x"),
    ):
        request = SendRequested.model_validate(
            {**REQUEST, "kind": kind, "channel": channel, "last_inbound_at": None}
        )
        assert request.last_inbound_at is None


def test_outcomes_round_trip() -> None:
    common = {
        "send_id": "rep_1",
        "brand_id": "acme",
        "connection_id": REQUEST["connection_id"],
        "channel": "whatsapp",
        "thread_key": "acme:whatsapp:34600111222",
        "kind": "whatsapp_message",
        "attempts": 1,
    }
    completed = SendCompleted(**common, platform_message_id="wamid.HBgL", sent_at=NOW)
    assert SendCompleted.model_validate_json(completed.model_dump_json()) == completed
    failed = SendFailed(
        **common,
        reason=SendFailureReason.window_closed,
        code="window_closed",
        messages={"en": "More than 24 hours...", "es": "Han pasado más de 24 horas..."},
        platform_error=PlatformError(
            http_status=400, code="131047", message="Re-engagement message"
        ),
        failed_at=NOW,
    )
    assert SendFailed.model_validate_json(failed.model_dump_json()) == failed
