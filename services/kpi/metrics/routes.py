"""KPI API: `/v1/kpis/summary`, `/v1/kpis/timeseries` (JSON or CSV) and `/v1/kpis/cases.csv`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from services.kpi.metrics import service
from services.kpi.metrics.definitions import METRIC_NAMES
from services.kpi.metrics.dependencies import KpiReaderDep, ReadSessionDep, SessionDep
from services.kpi.metrics.schemas import (
    SummaryGroup,
    SummaryResponse,
    TimeseriesPoint,
    TimeseriesResponse,
)
from shared.downloads import attachment

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope kpis:read"},
    404: {"description": "The API key is limited to other brands"},
}
router = APIRouter(prefix="/v1/kpis", tags=["kpis"], responses=PROBLEMS)
CSV = "text/csv"
Metric = StrEnum("Metric", {name: name for name in METRIC_NAMES})  # type: ignore[misc]


class Interval(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"


BrandQuery = Annotated[str, Query(min_length=1, max_length=100, description="The brand")]
FromQuery = Annotated[
    AwareDatetime, Query(alias="from", description="Start (RFC 3339, included; cut to the minute)")
]
ToQuery = Annotated[AwareDatetime, Query(alias="to", description="End (RFC 3339, excluded)")]
DepartmentQuery = Annotated[
    str | None,
    Query(max_length=100, description="Only this department's cases and replies"),
]


def wants_csv(request: Request) -> bool:
    return CSV in request.headers.get("accept", "")


def csv_response(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": attachment(filename)},
    )


@router.get(
    "/summary",
    response_model=SummaryResponse,
    response_model_by_alias=True,
    summary="Every KPI over a window, optionally grouped (JSON, or CSV with Accept: text/csv)",
    responses={200: {"content": {CSV: {}}}, 422: {"description": "A parameter is invalid"}},
)
async def get_kpi_summary(
    request: Request,
    principal: KpiReaderDep,
    session: ReadSessionDep,
    brand_id: BrandQuery,
    start: FromQuery,
    end: ToQuery,
    group_by: Annotated[
        list[str],
        Query(description="Any of channel, department, member, intent, day (comma-separated)"),
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    department: DepartmentQuery = None,
) -> Any:
    service.ensure_brand(principal, brand_id)
    start, end = service.window(start, end)
    groups = service.parse_group_by(group_by)
    result = await service.summary(
        session,
        principal,
        brand_id=brand_id,
        start=start,
        end=end,
        group_by=groups,
        department=department,
    )
    if wants_csv(request):
        header = [*groups, *service.SUMMARY_NAMES]
        rows = [
            [*(key[name] for name in groups), *(kpis[name] for name in service.SUMMARY_NAMES)]
            for key, kpis in result
        ]
        return csv_response(service.to_csv(header, rows), f"kpis-{brand_id}.csv")
    return SummaryResponse(
        brand_id=brand_id,
        start=start,
        end=end,
        group_by=groups,
        groups=[SummaryGroup(key=key, kpis=kpis) for key, kpis in result],
    )


@router.get(
    "/timeseries",
    response_model=TimeseriesResponse,
    summary="One KPI per minute, hour or day bucket (JSON, or CSV with Accept: text/csv)",
    responses={200: {"content": {CSV: {}}}, 422: {"description": "A parameter is invalid"}},
)
async def get_kpi_timeseries(
    request: Request,
    principal: KpiReaderDep,
    session: ReadSessionDep,
    brand_id: BrandQuery,
    metric: Annotated[Metric, Query(description="A KPI name, as in the summary")],
    start: FromQuery,
    end: ToQuery,
    interval: Annotated[Interval, Query(description="Bucket size")] = Interval.day,
    department: DepartmentQuery = None,
) -> Any:
    service.ensure_brand(principal, brand_id)
    start, end = service.window(start, end)
    points = await service.timeseries(
        session,
        principal,
        brand_id=brand_id,
        metric=str(metric.value),
        interval=interval.value,
        start=start,
        end=end,
        department=department,
    )
    if wants_csv(request):
        rows = [[service.format_time(bucket), value] for bucket, value in points]
        return csv_response(
            service.to_csv(["bucket", str(metric.value)], rows), f"{metric.value}-{brand_id}.csv"
        )
    return TimeseriesResponse(
        brand_id=brand_id,
        metric=str(metric.value),
        interval=interval.value,
        points=[TimeseriesPoint(bucket=bucket, value=value) for bucket, value in points],
    )


@router.get(
    "/cases.csv",
    summary="One CSV row per case opened in the window, with its times",
    response_class=Response,
    responses={200: {"content": {CSV: {}}}, 422: {"description": "A parameter is invalid"}},
)
async def get_kpi_cases_csv(
    principal: KpiReaderDep,
    session: SessionDep,
    brand_id: BrandQuery,
    start: FromQuery,
    end: ToQuery,
    department: DepartmentQuery = None,
) -> Response:
    service.ensure_brand(principal, brand_id)
    start, end = service.window(start, end)
    rows = await service.case_rows(
        session, principal, brand_id=brand_id, start=start, end=end, department=department
    )
    return csv_response(service.to_csv(service.CASE_COLUMNS, rows), f"cases-{brand_id}.csv")
