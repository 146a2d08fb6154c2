"""KPI summaries, time series and the per-case export, from the rollups.

A window [from, to) (minutes; seconds are cut) is read from the coarsest rollups that tile it:
whole days from day rows, whole hours at its edges from hour rows, the rest from minute rows. So
a month costs a few hundred rows per dimension key, not a row per event.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.metrics import repository
from services.kpi.metrics.definitions import METRICS, Totals, compute
from services.kpi.metrics.exceptions import BrandNotFoundError, InvalidQueryError
from services.kpi.rollups.contributions import first_response_sla, milliseconds
from services.kpi.rollups.measures import MEASURES, Granularity, bucket_start
from shared.auth import Principal, ensure_brand_visible

GROUPS = tuple(repository.GROUP_COLUMNS)
INTERVALS = {"minute": Granularity.minute, "hour": Granularity.hour, "day": Granularity.day}
MAX_WINDOW = timedelta(days=366)
MAX_POINTS = 10_000
# Workload: cases open or pending now (whatever the window), under their current channel,
# department, assignee (member) and intent. A state, not a sum over the window: in the summary
# only (None when grouped by day), not a time series or a goal.
BACKLOG = "backlog"
SUMMARY_NAMES = (*METRICS, BACKLOG)


def ensure_brand(principal: Principal, brand_id: str) -> None:
    ensure_brand_visible(principal, brand_id, BrandNotFoundError(f"no brand {brand_id}"))


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    for field, moment in (("from", start), ("to", end)):
        if not EARLIEST <= moment <= LATEST:
            raise InvalidQueryError(field, "must be between 2000-01-01 and 2100-01-01")
    start, end = bucket_start(start.astimezone(UTC), "m"), bucket_start(end.astimezone(UTC), "m")
    if end <= start:
        raise InvalidQueryError("to", "must be at least a minute after from")
    if end - start > MAX_WINDOW:
        raise InvalidQueryError("to", "the window is at most 366 days")
    return start, end


def parse_group_by(raw: Sequence[str]) -> list[str]:
    names: list[str] = []
    for part in raw:
        for name in part.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in GROUPS:
                raise InvalidQueryError("group_by", f"{name!r} is not one of {', '.join(GROUPS)}")
            if name not in names:
                names.append(name)
    return names


def segments(start: datetime, end: datetime) -> list[repository.Segment]:
    """Tile [start, end) (minute-aligned) with the coarsest buckets: days, hours, minutes."""
    first_hour = _ceil(start, "h")
    last_hour = bucket_start(end, "h")
    if first_hour >= last_hour:
        return [("m", start, end)]
    first_day = _ceil(first_hour, "d")
    last_day = bucket_start(last_hour, "d")
    tiles: list[repository.Segment] = []
    hours = [(first_hour, last_hour)]
    if first_day < last_day:
        tiles.append(("d", first_day, last_day))
        hours = [(first_hour, first_day), (last_day, last_hour)]
    tiles += [("h", low, high) for low, high in hours if low < high]
    tiles += [
        ("m", low, high) for low, high in ((start, first_hour), (last_hour, end)) if low < high
    ]
    return tiles


def _ceil(moment: datetime, granularity: str) -> datetime:
    floor = bucket_start(moment, granularity)
    return floor if floor == moment else floor + Granularity.STEP[granularity]


def _group_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value if value != "" else None


async def summary(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    department: str | None = None,
) -> list[tuple[dict[str, Any], dict[str, float | int | None]]]:
    """(group key, KPIs) per group; one group with an empty key when not grouped."""
    tiles = segments(start, end)
    arguments: dict[str, Any] = {
        "brand_id": brand_id,
        "segments": tiles,
        "group_by": group_by,
        "principal": principal,
        "department": department,
    }
    totals: dict[tuple[Any, ...], Totals] = {}
    # None when grouped by day (the backlog is a state, not a sum over days).
    backlog: dict[tuple[Any, ...], int] | None = None if "day" in group_by else {}
    width = len(group_by)
    for row in await repository.summed_rollups(session, **arguments):
        key = tuple(row[:width])
        sums = totals.get(key)
        if sums is None:
            sums = totals[key] = Totals()
        metric, bin_index, count = row[-3:]
        if metric is None:
            sums.add_measures(
                {name: int(value or 0) for name, value in zip(MEASURES, row[width:-3], strict=True)}
            )
        elif metric == repository.BACKLOG_METRIC:
            if backlog is not None:
                backlog[key] = int(count)
        else:
            sums.add_bin(int(metric), int(bin_index), int(count))
    if not group_by and not totals:
        totals[()] = Totals()
    result = []
    for key in sorted(totals, key=lambda values: tuple(str(value) for value in values)):
        group = {name: _group_value(value) for name, value in zip(group_by, key, strict=True)}
        kpis = compute(totals[key])
        kpis[BACKLOG] = None if backlog is None else backlog.get(key, 0)
        result.append((group, kpis))
    return result


async def timeseries(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str,
    metric: str,
    interval: str,
    start: datetime,
    end: datetime,
    department: str | None = None,
) -> list[tuple[datetime, float | int | None]]:
    granularity = INTERVALS[interval]
    first = bucket_start(start, granularity)
    step = Granularity.STEP[granularity]
    if (end - first) / step > MAX_POINTS:
        raise InvalidQueryError("interval", f"more than {MAX_POINTS} points: use a coarser one")
    rows, sketches = await repository.series_measures(
        session,
        brand_id=brand_id,
        granularity=granularity,
        start=first,
        end=end,
        principal=principal,
        department=department,
    )
    totals: dict[datetime, Totals] = {}
    for row in rows:
        totals.setdefault(row[0], Totals()).add_measures(
            {name: int(value or 0) for name, value in zip(MEASURES, row[1:], strict=True)}
        )
    for bucket, metric_id, bin_index, count in sketches:
        totals.setdefault(bucket, Totals()).add_bin(metric_id, bin_index, int(count))
    points = []
    moment = first
    while moment < end:
        points.append((moment, compute(totals.get(moment, Totals()))[metric]))
        moment += step
    return points


CASE_COLUMNS = (
    "case_id",
    "brand_id",
    "channel",
    "department",
    "assignee_id",
    "intent",
    "status",
    "priority",
    "lang",
    "sentiment",
    "first_inbound_at",
    "opened_at",
    "first_reply_at",
    "first_response_seconds",
    "first_response_business_seconds",
    "reply_count",
    "resolved_at",
    "resolution_seconds",
    "resolution_business_seconds",
    "first_response_target_seconds",
    "first_response_sla",
)


def format_time(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


async def case_rows(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str,
    start: datetime,
    end: datetime,
    department: str | None = None,
) -> list[list[str]]:
    rows = await repository.cases_opened(
        session, brand_id=brand_id, start=start, end=end, principal=principal, department=department
    )
    result = []
    for case, first_reply_at, reply_count, first_business_ms in rows:
        first_response = (
            milliseconds(case.first_inbound_at, first_reply_at) / 1000
            if first_reply_at is not None and case.first_inbound_at is not None
            else None
        )
        resolution = (
            milliseconds(case.opened_at, case.resolved_at) / 1000
            if case.resolved_at is not None and case.opened_at is not None
            else None
        )
        sla = first_response_sla(case, first_reply_at)
        if sla is None:
            sla_state = "running" if case.first_response_target_seconds is not None else ""
        else:
            sla_state = "met" if sla[1] else "breached"
        result.append(
            [
                case.case_id,
                case.brand_id,
                case.channel,
                case.department or "",
                case.assignee_id or "",
                case.intent or "",
                case.status or "",
                case.priority or "",
                case.lang or "",
                case.sentiment_label or "",
                format_time(case.first_inbound_at),
                format_time(case.opened_at),
                format_time(first_reply_at),
                "" if first_response is None else f"{first_response:g}",
                "" if first_business_ms is None else f"{first_business_ms / 1000:g}",
                str(reply_count or 0),
                format_time(case.resolved_at),
                "" if resolution is None else f"{resolution:g}",
                ""
                if case.resolution_business_ms is None or case.resolved_at is None
                else f"{case.resolution_business_ms / 1000:g}",
                ""
                if case.first_response_target_seconds is None
                else str(case.first_response_target_seconds),
                sla_state,
            ]
        )
    return result


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def metric_names() -> list[str]:
    return list(METRICS)
