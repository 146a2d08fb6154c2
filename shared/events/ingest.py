"""Ingest's internal events: what its web tier hands to its workers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar, Self

from shared.events.payloads import RecordPayload


class WebhookReceived(RecordPayload):
    """A platform webhook whose signature checked, kept as received for the workers to parse,
    deduplicate, enrich and store. Keyed by connection, so one connection stays in order.

    The record's value is the verified body itself, byte for byte (what the workers parse and
    archive); the other fields are `ce_` attributes. Records written before the body rode that
    way (a JSON object of these fields, the body a string) are still read."""

    connection_id: str
    platform: str
    received_at: datetime
    body: bytes
    # What the workers need of the connection, as it was when the signature checked, so they
    # need not load it again. None in older records: the workers then look it up.
    brand_id: str | None = None
    default_lang: str | None = None
    account_ids: list[str] | None = None

    attribute_names: ClassVar[frozenset[str]] = frozenset(
        {"connectionid", "platform", "receivedat", "brandid", "defaultlang", "accountids"}
    )

    def record_value(self) -> bytes:
        return self.body

    def record_attributes(self) -> dict[str, str]:
        attributes = {
            "connectionid": self.connection_id,
            "platform": self.platform,
            "receivedat": self.received_at.isoformat(),
        }
        if self.brand_id is not None:
            attributes["brandid"] = self.brand_id
        if self.default_lang is not None:
            attributes["defaultlang"] = self.default_lang
        if self.account_ids is not None:
            attributes["accountids"] = json.dumps(self.account_ids)
        return attributes

    @classmethod
    def from_record(cls, value: bytes, attributes: dict[str, str]) -> Self:
        if "connectionid" not in attributes:
            return cls.model_validate_json(value)
        accounts = attributes.get("accountids")
        return cls.model_validate(
            {
                "connection_id": attributes["connectionid"],
                "platform": attributes.get("platform"),
                "received_at": attributes.get("receivedat"),
                "body": value,
                "brand_id": attributes.get("brandid"),
                "default_lang": attributes.get("defaultlang"),
                "account_ids": json.loads(accounts) if accounts is not None else None,
            }
        )
