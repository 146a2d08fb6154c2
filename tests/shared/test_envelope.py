"""The envelope codec against the CloudEvents Kafka binding of the `cloudevents` package."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.events.envelope import Envelope, EnvelopeError
from shared.events.interactions import EngagementRecorded, Metrics

PAYLOAD = EngagementRecorded(
    brand_id="acme",
    channel="instagram",
    external_id="17900000000000001",
    thread_external_id="17900000000000000",
    kind="like",
    delta=Metrics(likes=1),
    occurred_at=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
)


def test_our_records_read_as_cloudevents() -> None:
    envelope = Envelope(
        type="engagement.recorded",
        source="/socialcare/ingest",
        key="acme:instagram:17900000000000000",
        data=PAYLOAD,
        subject="17900000000000001",
        extensions={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    key, value, headers = envelope.to_kafka()
    event = from_binary(KafkaMessage(headers=dict(headers), key=key, value=value), JSONFormat())
    attributes = event.get_attributes()
    assert attributes["specversion"] == "1.0"
    assert attributes["id"] == envelope.id
    assert attributes["type"] == "engagement.recorded"
    assert attributes["source"] == "/socialcare/ingest"
    assert attributes["subject"] == "17900000000000001"
    assert attributes["datacontenttype"] == "application/json"
    assert attributes["time"] == envelope.time
    assert attributes["traceparent"].startswith("00-4bf9")
    assert event.get_data() == PAYLOAD.model_dump(mode="json")


def test_cloudevents_records_read_as_envelopes() -> None:
    event = CloudEvent(
        {
            "id": "evt-1",
            "type": "engagement.recorded",
            "source": "/another/producer",
            "time": datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC),
            "datacontenttype": "application/json",
            "partitionkey": "acme:instagram:17900000000000000",
        },
        PAYLOAD.model_dump(mode="json"),
    )
    message = to_binary(event, JSONFormat())
    key = message.key.encode() if isinstance(message.key, str) else message.key
    envelope = Envelope.from_kafka(key, message.value, list(message.headers.items()))
    assert envelope.id == "evt-1"
    assert envelope.source == "/another/producer"
    assert envelope.key == "acme:instagram:17900000000000000"
    assert envelope.time == datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)
    assert envelope.data == PAYLOAD


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", "specversion"),
        ([("ce_specversion", b"1.0"), ("ce_type", b"engagement.recorded")], b"{}", "id"),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/x"),
                ("ce_type", b"no.such.type"),
            ],
            b"{}",
            "unknown event type",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/x"),
                ("ce_type", b"engagement.recorded"),
            ],
            b'{"brand_id": 1}',
            "does not validate",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/x"),
                ("ce_type", b"engagement.recorded"),
                ("content-type", b"application/xml"),
            ],
            b"<xml/>",
            "content-type",
        ),
    ],
)
def test_records_that_are_not_ours_are_refused(
    headers: list[tuple[str, bytes]], value: bytes, reason: str
) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.from_kafka(b"k", value, headers)


def test_extension_names_follow_the_spec() -> None:
    with pytest.raises(ValueError, match="extension"):
        Envelope(type="t", source="/s", key="k", data=PAYLOAD, extensions={"Trace-Id": "x"})
