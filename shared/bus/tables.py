"""Tables every Kafka-using service keeps in its own schema: the outbox and the dedupe log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
)

from shared.db import UtcDateTime


@dataclass(frozen=True)
class BusTables:
    outbox: Table
    processed_events: Table


def define_bus_tables(metadata: MetaData) -> BusTables:
    """Define `outbox_events` and `processed_events` on a service's metadata."""
    outbox = Table(
        "outbox_events",
        metadata,
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(500), nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
        Column("published_at", UtcDateTime, nullable=True, index=True),
        # Where the record landed: lets a restarted relay find what it sent but did not mark.
        Column("partition", Integer, nullable=True),
        Column("offset", BigInteger, nullable=True),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False, server_default=func.now(), index=True),
    )
    return BusTables(outbox=outbox, processed_events=processed)
