"""CloudEvents 1.0 in Kafka binary mode: `ce_*` headers, JSON value, the thread key as key.

The codec follows the CloudEvents Kafka protocol binding (attributes as `ce_<name>` headers,
`datacontenttype` as `content-type`, the partition key as the record key). It is written out here
rather than going through the `cloudevents` package on every record because it sits on the hot
path of every producer and consumer (the package builds and validates an event object twice per
record; see bench/bus.py). `tests/shared/test_envelope.py` checks both ways of interoperability
with the `cloudevents` package's own Kafka binding. A `RecordPayload` (shared/events/payloads.py)
is its own record value, its other fields `ce_` attributes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel

from shared.clock import utc_now
from shared.events.payloads import RecordPayload
from shared.events.registry import model_for
from shared.ids import random_uuid

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
Headers = list[tuple[str, bytes]]

_CORE = frozenset({"id", "type", "source", "time", "specversion", "subject", "datacontenttype"})
# CloudEvents attribute names: lower-case letters and digits only.
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_SPEC_HEADER = ("ce_specversion", SPEC_VERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())


class EnvelopeError(ValueError):
    """A Kafka message that is not a CloudEvent we can read (goes to the DLQ)."""


def _format_time(moment: datetime) -> bytes:
    if moment.tzinfo is not UTC:  # envelopes made here are UTC already: no conversion
        moment = moment.astimezone(UTC)
    return (moment.isoformat()[:-6] + "Z").encode()  # "+00:00" as RFC 3339's "Z"


@dataclass(slots=True)
class Envelope:
    """One event: CloudEvents attributes, the Kafka key and the typed payload.

    Treat it as immutable. (Not a frozen dataclass: that doubles its construction cost, and an
    envelope is built on every publish and every consume.)"""

    type: str
    source: str
    key: str
    data: BaseModel
    id: str = field(default_factory=random_uuid)
    time: datetime = field(default_factory=utc_now)
    subject: str | None = None
    # Extensions carried as ce_ headers, e.g. traceparent and request ids for structured logs.
    extensions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.extensions:
            if name in _CORE or not _EXTENSION_NAME.match(name):
                raise ValueError(f"invalid CloudEvents extension name {name!r}")

    def to_kafka(self) -> tuple[bytes, bytes, Headers]:
        """Key, value and headers of the binary-mode Kafka record."""
        headers: Headers = [
            _SPEC_HEADER,
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", _format_time(self.time)),
            _CONTENT_TYPE_HEADER,
        ]
        if self.subject:
            headers.append(("ce_subject", self.subject.encode()))
        for name, value in self.extensions.items():
            headers.append((f"ce_{name}", value.encode()))
        data = self.data
        if isinstance(data, RecordPayload):
            for name, value in data.record_attributes().items():
                headers.append((f"ce_{name}", value.encode()))
            return self.key.encode(), data.record_value(), headers
        return self.key.encode(), data.model_dump_json().encode(), headers

    @classmethod
    def from_kafka(
        cls, key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> Envelope:
        """Parse and validate a record; raise EnvelopeError when it is not one of ours."""
        attributes: dict[str, str] = {}
        content_type = None
        try:
            for name, raw in headers:
                if name.startswith("ce_"):
                    attributes[name[3:]] = raw.decode()
                elif name == "content-type":
                    content_type = raw.decode()
        except UnicodeDecodeError as exc:
            raise EnvelopeError("CloudEvents headers must be UTF-8") from exc
        if attributes.get("specversion") != SPEC_VERSION:
            raise EnvelopeError("missing ce_specversion 1.0: not a binary-mode CloudEvent")
        missing = [name for name in ("id", "type", "source") if not attributes.get(name)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
        if content_type is not None and not content_type.startswith(CONTENT_TYPE):
            raise EnvelopeError(f"unsupported content-type {content_type!r}")
        event_type = attributes["type"]
        model = model_for(event_type)
        if model is None:
            raise EnvelopeError(f"unknown event type {event_type!r}")
        try:
            if issubclass(model, RecordPayload):
                data: BaseModel = model.from_record(value or b"", attributes)
            else:
                data = model.model_validate_json(value or b"")
        except ValueError as exc:  # ValidationError is one
            raise EnvelopeError(f"payload of {event_type} does not validate: {exc}") from exc
        # Attributes a payload writes itself are its fields, not extensions of the envelope.
        claimed = data.attribute_names if isinstance(data, RecordPayload) else frozenset()
        time_text = attributes.get("time")
        try:
            moment = datetime.fromisoformat(time_text) if time_text else utc_now()
        except ValueError as exc:
            raise EnvelopeError(f"ce_time is not RFC 3339: {time_text!r}") from exc
        return cls(
            type=event_type,
            source=attributes["source"],
            key=key.decode() if key else "",
            data=data,
            id=attributes["id"],
            time=moment,
            subject=attributes.get("subject"),
            extensions={
                name: value
                for name, value in attributes.items()
                if name not in _CORE and name not in claimed and _EXTENSION_NAME.match(name)
            },
        )
