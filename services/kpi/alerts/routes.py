"""Alerts: `GET /v1/alerts?brand_id&status`, `GET /v1/alerts/{id}`."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from services.kpi.alerts import service
from services.kpi.alerts.dependencies import KpiReaderDep, SessionDep
from services.kpi.alerts.schemas import AlertPage, AlertRead, AlertStatus
from shared.errors import BadRequestError
from shared.limits import unstorable_text
from shared.pagination import fetch_size

AUTH_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope, or has a department limit"},
}

alerts_router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=AUTH_PROBLEMS)


def encode_cursor(raised_at: datetime, identifier: str) -> str:
    return base64.urlsafe_b64encode(f"{raised_at.isoformat()}|{identifier}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        moment, identifier = base64.urlsafe_b64decode(cursor).decode().split("|", 1)
        position = datetime.fromisoformat(moment)
    except (ValueError, binascii.Error) as exc:
        raise BadRequestError("the cursor is not one this API issued", field="cursor") from exc
    if position.tzinfo is None or unstorable_text(identifier) is not None:
        raise BadRequestError("the cursor is not one this API issued", field="cursor")
    return position, identifier


@alerts_router.get("", response_model=AlertPage, summary="Alerts, newest first")
async def list_alerts(
    principal: KpiReaderDep,
    session: SessionDep,
    brand_id: str | None = Query(default=None, min_length=1, max_length=100),
    status: AlertStatus | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=500),
) -> AlertPage:
    rows = await service.list_alerts(
        session,
        principal,
        brand_id=brand_id,
        status=status,
        after=decode_cursor(cursor) if cursor else None,
        limit=fetch_size(limit),
    )
    return AlertPage.from_rows(
        rows,
        limit,
        item=service.alert_read,
        cursor=lambda row: encode_cursor(row.raised_at, row.id),
    )


@alerts_router.get(
    "/{alert_id}",
    response_model=AlertRead,
    summary="One alert",
    responses={404: {"description": "No such alert, or not one this key may see"}},
)
async def get_alert(alert_id: str, principal: KpiReaderDep, session: SessionDep) -> AlertRead:
    return await service.get_alert(session, principal, alert_id)
