"""HTTP models of goals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from services.kpi.goals.evaluation import GoalStatus, Period
from services.kpi.metrics.definitions import METRIC_NAMES, Direction
from shared.limits import InputModel
from shared.pagination import CursorPage

GoalMetric = StrEnum("GoalMetric", {name: name for name in METRIC_NAMES})  # type: ignore[misc]
_TARGET = Field(allow_inf_nan=False, ge=-1e12, le=1e12, description="The KPI's target value")


class GoalCreate(InputModel):
    brand_id: str = Field(min_length=1, max_length=100)
    department: str | None = Field(
        default=None, min_length=1, max_length=100, description="Only this department's figures"
    )
    name: str = Field(default="", max_length=200)
    metric: GoalMetric = Field(description="A KPI name, as in /v1/kpis/summary")
    target: float = _TARGET
    period: Period

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "brand_id": "acme",
                    "department": "customer_service",
                    "name": "Primera respuesta / First response",
                    "metric": "first_response_p90_seconds",
                    "target": 3600,
                    "period": "week",
                }
            ]
        }
    }


class GoalUpdate(InputModel):
    model_config = {"json_schema_extra": {"examples": [{"target": 1800, "period": "month"}]}}

    name: str | None = Field(default=None, max_length=200)
    target: float | None = Field(default=None, allow_inf_nan=False, ge=-1e12, le=1e12)
    period: Period | None = None


class Attainment(BaseModel):
    period_start: datetime
    period_end: datetime
    value: float | None = Field(description="The KPI so far in the period")
    projected: float | None = Field(description="Its projection for the whole period")
    attainment_percent: float | None = Field(
        description="Share of the target reached (100 = on target; above = better)"
    )
    status: GoalStatus


class GoalRead(BaseModel):
    id: str
    brand_id: str
    department: str | None
    name: str
    metric: str
    direction: Direction
    target: float
    period: Period
    created_at: datetime
    updated_at: datetime
    attainment: Attainment


class GoalPage(CursorPage[GoalRead]):
    pass
