"""CloudEvents 1.0 in Kafka binary mode: `ce_*` headers, JSON value, the thread key as key."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

from shared.events.registry import model_for

_FORMAT = JSONFormat()
CONTENT_TYPE = "application/json"
Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A Kafka message that is not a CloudEvent we can read (goes to the DLQ)."""


@dataclass(frozen=True)
class Envelope:
    """One event: CloudEvents attributes, the Kafka key and the typed payload."""

    type: str
    source: str
    key: str
    data: BaseModel
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    # Extensions carried as ce_ headers: trace and request ids for structured logs.
    extensions: dict[str, str] = field(default_factory=dict)

    def to_kafka(self) -> tuple[bytes, bytes, Headers]:
        """Key, value and headers of the binary-mode Kafka record."""
        attributes: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time,
            "datacontenttype": CONTENT_TYPE,
            **self.extensions,
        }
        if self.subject:
            attributes["subject"] = self.subject
        message = to_binary(
            CloudEvent(attributes, self.data.model_dump_json().encode()),
            _FORMAT,
            key_mapper=lambda _event: self.key,
        )
        return self.key.encode(), message.value, list(message.headers.items())

    @classmethod
    def from_kafka(cls, key: bytes | None, value: bytes, headers: Headers) -> Envelope:
        """Parse and validate a record; raise EnvelopeError when it is not one of ours."""
        header_map = dict(headers)
        if "ce_type" not in header_map or "ce_id" not in header_map:
            raise EnvelopeError("missing ce_type/ce_id headers: not a binary-mode CloudEvent")
        try:
            event = from_binary(
                KafkaMessage(headers=header_map, key=key, value=value),
                _FORMAT,
            )
        except Exception as exc:
            raise EnvelopeError(f"invalid CloudEvent: {exc}") from exc
        attributes = event.get_attributes()
        event_type = str(attributes["type"])
        model = model_for(event_type)
        if model is None:
            raise EnvelopeError(f"unknown event type {event_type!r}")
        raw = event.get_data()
        try:
            if isinstance(raw, bytes | str):
                data = model.model_validate_json(raw)
            else:
                data = model.model_validate(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"payload of {event_type} does not validate: {exc}") from exc
        known = {"id", "type", "source", "time", "datacontenttype", "specversion", "subject"}
        extensions = {
            name: str(attr)
            for name, attr in attributes.items()
            if name not in known and name != "partitionkey" and attr is not None
        }
        time_value = attributes.get("time")
        return cls(
            type=event_type,
            source=str(attributes["source"]),
            key=key.decode() if key else "",
            data=data,
            id=str(attributes["id"]),
            time=time_value if isinstance(time_value, datetime) else datetime.now(UTC),
            subject=attributes.get("subject"),
            extensions=extensions,
        )
