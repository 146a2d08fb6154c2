"""HTTP models of the KPI API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SummaryGroup(BaseModel):
    key: dict[str, Any] = Field(
        description="The group's values (channel, department, member, intent, day); null for"
        " rows without one, e.g. interactions (no department owns them before routing)"
    )
    kpis: dict[str, float | int | None] = Field(
        description="Every KPI by name (durations in seconds, `*_business_*` ones in the handling"
        " department's business hours; rates in percent), and `backlog`: cases open or pending"
        " now, whatever the window (null when grouped by day)"
    )


class SummaryResponse(BaseModel):
    brand_id: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    group_by: list[str]
    groups: list[SummaryGroup]


class TimeseriesPoint(BaseModel):
    bucket: datetime
    value: float | int | None


class TimeseriesResponse(BaseModel):
    brand_id: str
    metric: str
    interval: str
    points: list[TimeseriesPoint]
