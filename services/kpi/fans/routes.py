"""Fans, influencers and ambassadors: `/v1/fans`, `/v1/fans/{id}`, `/v1/ambassadors`."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from fastapi import APIRouter, Query

from services.kpi.config import KpiSettings
from services.kpi.fans import repository, service
from services.kpi.fans.dependencies import FanLinkerDep, KpiReaderDep, SessionDep, SettingsDep
from services.kpi.fans.schemas import FanDetail, FanLinkCreate, FanPage, FanSort
from services.kpi.fans.scoring import Thresholds
from shared.auth import ensure_every_department
from shared.errors import BadRequestError
from shared.limits import unstorable_text
from shared.pagination import fetch_size

AUTH_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope, or has a department limit"},
}

fans_router = APIRouter(prefix="/v1/fans", tags=["fans"], responses=AUTH_PROBLEMS)
ambassadors_router = APIRouter(prefix="/v1/ambassadors", tags=["fans"], responses=AUTH_PROBLEMS)

FANS_ARE_BRAND_WIDE = "fans (every interaction of the brand, before any department owns it)"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such fan, or not one this key may see"}
}


def thresholds_of(settings: KpiSettings) -> Thresholds:
    return Thresholds(
        min_followers=settings.fan_min_followers,
        repeat_min=settings.fan_repeat_min,
        lean_min_share=settings.fan_lean_min_share,
    )


def encode_cursor(value: float, identifier: str) -> str:
    return base64.urlsafe_b64encode(f"{value!r}|{identifier}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        value, identifier = base64.urlsafe_b64decode(cursor).decode().split("|", 1)
        number = float(value)
    except (ValueError, binascii.Error) as exc:
        raise BadRequestError("the cursor is not one this API issued", field="cursor") from exc
    if not math.isfinite(number) or unstorable_text(identifier) is not None:
        raise BadRequestError("the cursor is not one this API issued", field="cursor")
    return number, identifier


async def _page(
    session: SessionDep,
    principal: KpiReaderDep,
    *,
    brand_id: str,
    sort: FanSort,
    limit: int,
    cursor: str | None,
    advocates_only: bool = False,
) -> FanPage:
    ensure_every_department(principal, FANS_ARE_BRAND_WIDE)
    rows = await repository.list_people(
        session,
        brand_id=brand_id,
        brands=principal.brands,
        sort=sort.value,
        hide_hr_only=not principal.may_see_department("hr"),
        advocates_only=advocates_only,
        after=decode_cursor(cursor) if cursor else None,
        limit=fetch_size(limit),
    )
    kept = list(rows[:limit])
    last = kept[-1] if kept and len(rows) > limit else None
    return FanPage(
        items=await service.fan_reads(session, kept, principal),
        next_cursor=encode_cursor(getattr(last, sort.value), last.id) if last else None,
    )


@fans_router.get("", response_model=FanPage, summary="Fans of a brand, by influence or lean")
async def list_fans(
    principal: KpiReaderDep,
    session: SessionDep,
    brand_id: str = Query(min_length=1, max_length=100),
    sort: FanSort = FanSort.influence,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=500),
) -> FanPage:
    return await _page(session, principal, brand_id=brand_id, sort=sort, limit=limit, cursor=cursor)


@fans_router.get("/{fan_id}", response_model=FanDetail, summary="One fan", responses=NOT_FOUND)
async def get_fan(fan_id: str, principal: KpiReaderDep, session: SessionDep) -> FanDetail:
    ensure_every_department(principal, FANS_ARE_BRAND_WIDE)
    return await service.get_fan(session, principal, fan_id)


@fans_router.post(
    "/{fan_id}/links",
    response_model=FanDetail,
    summary="Link another profile of the same person into this fan",
    responses={**NOT_FOUND, 409: {"description": "The fans are of different brands"}},
)
async def link_fans(
    fan_id: str,
    body: FanLinkCreate,
    principal: FanLinkerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> FanDetail:
    ensure_every_department(principal, FANS_ARE_BRAND_WIDE)
    return await service.link(session, principal, fan_id, body.fan_id, thresholds_of(settings))


@ambassadors_router.get(
    "", response_model=FanPage, summary="Candidate ambassadors: advocates by advocacy"
)
async def list_ambassadors(
    principal: KpiReaderDep,
    session: SessionDep,
    brand_id: str = Query(min_length=1, max_length=100),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=500),
) -> FanPage:
    return await _page(
        session,
        principal,
        brand_id=brand_id,
        sort=FanSort.advocacy,
        limit=limit,
        cursor=cursor,
        advocates_only=True,
    )
