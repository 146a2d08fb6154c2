"""Rollup tables: additive measures and duration-sketch bins per dimension key and bucket.

`granularity` is m, h or d (minute, hour, day; `bucket` the start of it, UTC) and `day` the day
the bucket is in, so a summary grouped by day reads minute and hour rows too. Dimensions a fact
does not have are '' (an interaction before routing has no department, member or intent).
Core tables rather than mapped classes: they are only ever written by bulk upserts of deltas
and read by aggregate queries.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, SmallInteger, String, Table

from services.kpi.models import Base
from services.kpi.rollups.measures import MEASURES
from shared.db import UtcDateTime

DIMENSIONS = ("channel", "department", "member_id", "intent")


def _key_columns() -> list[Column[object]]:
    return [
        Column("brand_id", String(100), primary_key=True),
        Column("granularity", String(1), primary_key=True),
        Column("bucket", UtcDateTime, primary_key=True),
        Column("channel", String(30), primary_key=True),
        Column("department", String(100), primary_key=True),
        Column("member_id", String(100), primary_key=True),
        Column("intent", String(50), primary_key=True),
    ]


# Pages of `rollups` on PostgreSQL are filled to this percentage: every fold updates rows
# (an event adds to its minute, hour and day rows), and an update that fits on the row's page
# is a HOT update, with no new entry in the seven-column primary key.
ROLLUPS_STORAGE = {"fillfactor": "70"}

# Counts, millisecond and micro-unit sums: integers, exact under retraction (float sums drift).
ROLLUPS = Table(
    "rollups",
    Base.metadata,
    *_key_columns(),
    Column("day", UtcDateTime, nullable=False),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in MEASURES),
    postgresql_with=ROLLUPS_STORAGE,
)

ROLLUP_SKETCHES = Table(
    "rollup_sketches",
    Base.metadata,
    *_key_columns(),
    Column("metric", SmallInteger, primary_key=True),
    Column("bin", SmallInteger, primary_key=True),
    Column("day", UtcDateTime, nullable=False),
    Column("count", BigInteger, nullable=False),
)
