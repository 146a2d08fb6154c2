"""The additive measures every KPI is computed from, and the arithmetic of rollup deltas.

A fact contributes `Entry`s (a time, a dimension key, measures, sketch bins). When a fact
changes, its old entries are subtracted and its new ones added (`Delta`), so rollups are always
the sum of the current facts' contributions, in whatever order the facts reached their state.
Pure: no database, no Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import NamedTuple

MEASURES = (
    # interactions (brand × channel)
    "interactions",
    "sentiment_positive",
    "sentiment_neutral",
    "sentiment_negative",
    "sentiment_scored",
    "sentiment_score_micros",
    # engagement records (brand × channel)
    "engagement_records",
    "likes",
    "comments",
    "shares",
    "views",
    # cases, by the time they opened (assignee as member)
    "cases_opened",
    "cases_responded",
    "first_response_count",
    "first_response_ms",
    # cases, by the time they were resolved
    "cases_resolved",
    "resolution_ms",
    # first-response SLA, by the time its clock ended (reply sent or deadline passed)
    "sla_ended",
    "sla_met",
    # replies, by the time they were sent (author as member)
    "replies_sent",
    "next_response_count",
    "next_response_ms",
    # guideline checks, by the time of a reply's first check
    "replies_checked",
    "replies_first_pass",
    # first and next response and resolution times in business hours of the handling
    # department, over the cases / replies whose events carried them (routing measures them in
    # its calendars)
    "first_response_business_count",
    "first_response_business_ms",
    "next_response_business_count",
    "next_response_business_ms",
    "resolution_business_count",
    "resolution_business_ms",
    # interactions collected as ideas (intent feedback_idea), by their platform time
    "ideas_collected",
)
MEASURE_INDEX = {name: index for index, name in enumerate(MEASURES)}
_WIDTH = len(MEASURES)


class Sketch(IntEnum):
    """Durations kept as quantile-sketch bins (services/kpi/rollups/sketch.py)."""

    first_response = 1
    next_response = 2
    resolution = 3
    first_response_business = 4
    next_response_business = 5
    resolution_business = 6


class Granularity:
    minute = "m"
    hour = "h"
    day = "d"
    ALL = ("m", "h", "d")
    STEP = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def bucket_start(moment: datetime, granularity: str) -> datetime:
    if granularity == Granularity.minute:
        return moment.replace(second=0, microsecond=0)
    if granularity == Granularity.hour:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# brand_id, channel, department, member_id, intent ('' where the fact has none)
Dimensions = tuple[str, str, str, str, str]


class Entry(NamedTuple):
    """What one fact adds to the rollups at one time. (A named tuple: the fold builds one or
    more per fact, and a tuple costs a fraction of a frozen dataclass to build.)"""

    at: datetime
    dimensions: Dimensions
    measures: Mapping[str, int]
    sketches: tuple[tuple[Sketch, int], ...] = ()


RowKey = tuple[str, datetime, Dimensions]  # granularity, bucket, dimensions
SketchKey = tuple[str, datetime, Dimensions, int, int]  # ... metric, bin


def _in_utc(moment: datetime) -> datetime:
    """The moment with the `UTC` singleton as its zone: buckets are UTC minutes, hours and days
    whatever offset a producer wrote, and keys sharing one tzinfo object compare and hash
    without calling into it (a parsed timestamp carries a zone object of its own)."""
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


@dataclass
class Delta:
    """Changes to rollup rows, summed in memory so one poll writes each row once."""

    rows: dict[RowKey, list[int]] = field(default_factory=dict)
    sketches: dict[SketchKey, int] = field(default_factory=dict)
    # Bumped by every change: what was computed from the delta (its statements, worked out
    # before the transaction) is still valid while this is the same.
    changes: int = 0
    prepared: object = None

    def add(self, entries: Iterable[Entry], sign: int = 1) -> None:
        self.changes += 1
        rows, sketches = self.rows, self.sketches
        for at, dimensions, measures, entry_sketches in entries:
            minute = _in_utc(at).replace(second=0, microsecond=0)
            hour = minute.replace(minute=0)
            keys = (
                ("m", minute, dimensions),
                ("h", hour, dimensions),
                ("d", hour.replace(hour=0), dimensions),
            )
            changes = [(MEASURE_INDEX[name], sign * value) for name, value in measures.items()]
            for key in keys:
                row = rows.get(key)
                if row is None:
                    row = rows[key] = [0] * _WIDTH
                for index, value in changes:
                    row[index] += value
            for metric, bin_index in entry_sketches:
                for granularity, bucket, _ in keys:
                    sketch_key = (granularity, bucket, dimensions, int(metric), bin_index)
                    sketches[sketch_key] = sketches.get(sketch_key, 0) + sign

    def merge(self, other: Delta) -> None:
        """Add another delta's changes to this one."""
        self.changes += 1
        rows, sketches = self.rows, self.sketches
        for key, values in other.rows.items():
            row = rows.get(key)
            if row is None:
                rows[key] = list(values)
            else:
                for index, value in enumerate(values):
                    if value:
                        row[index] += value
        for sketch_key, count in other.sketches.items():
            sketches[sketch_key] = sketches.get(sketch_key, 0) + count

    def replace(self, old: Iterable[Entry], new: Iterable[Entry]) -> None:
        self.add(old, -1)
        self.add(new, 1)

    def compact(self) -> None:
        """Drop keys whose changes cancelled out (a fact re-stated as it was)."""
        self.rows = {key: row for key, row in self.rows.items() if any(row)}
        self.sketches = {key: count for key, count in self.sketches.items() if count}
