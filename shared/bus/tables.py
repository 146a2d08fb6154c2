"""Tables every Kafka-using service keeps in its own schema: the outbox and the dedupe log.

The relay finds what to publish through `ix_outbox_events_pending`, a partial index of the ids
of unpublished rows: it holds the backlog only, however many published rows the table keeps,
and stamping a row published takes its entry out rather than adding one to an index of
`published_at` (which also held every published row). Every stamp leaves a dead row version,
so the outbox asks autovacuum to come by after 2% of it changed rather than the default 20%
(`OUTBOX_STORAGE`, PostgreSQL only; the migrations set the same).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
)

from shared.db import UtcDateTime

# Per-table autovacuum settings of `outbox_events` on PostgreSQL.
OUTBOX_STORAGE = {
    "autovacuum_vacuum_scale_factor": "0.02",
    "autovacuum_analyze_scale_factor": "0.05",
}
PENDING_INDEX = "ix_outbox_events_pending"


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
        Column("published_at", UtcDateTime, nullable=True),
        # Where the record landed: lets a restarted relay find what it sent but did not mark.
        Column("partition", Integer, nullable=True),
        Column("offset", BigInteger, nullable=True),
        postgresql_with=OUTBOX_STORAGE,
    )
    pending = outbox.c.published_at.is_(None)
    Index(PENDING_INDEX, outbox.c.id, postgresql_where=pending, sqlite_where=pending)
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False, server_default=func.now(), index=True),
    )
    return BusTables(outbox=outbox, processed_events=processed)
