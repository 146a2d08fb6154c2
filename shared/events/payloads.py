"""Payloads that are their own record value.

In CloudEvents binary mode the record's value is the event's `data`. A payload that already is
JSON bytes, such as a platform's webhook body that must be kept byte for byte, rides as the
value itself, its other fields as `ce_` extension attributes: no escaping into a JSON string on
the way in and no unescaping on the way out.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel


class RecordPayload(BaseModel):
    """A payload that says how it is written into a Kafka record, and read back from one.

    `Envelope.to_kafka` writes `record_value()` as the value and each `record_attributes()`
    entry as a `ce_<name>` header (names of lower-case letters and digits, as CloudEvents
    extensions); `Envelope.from_kafka` gives `from_record` the value and every attribute."""

    # The names `record_attributes` may write: the payload's, not extensions of the envelope.
    attribute_names: ClassVar[frozenset[str]] = frozenset()

    def record_value(self) -> bytes:
        raise NotImplementedError

    def record_attributes(self) -> dict[str, str]:
        raise NotImplementedError

    @classmethod
    def from_record(cls, value: bytes, attributes: dict[str, str]) -> Self:
        """The payload; raises ValueError (pydantic's ValidationError is one) when the record
        is not one."""
        raise NotImplementedError
