"""Ideas grouped into themes: `GET /v1/ideas?brand_id&from&to`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.kpi.ideas import service
from services.kpi.ideas.dependencies import KpiReaderDep, SessionDep
from services.kpi.ideas.schemas import IdeasRead

AUTH_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope, or has a department limit"},
}

ideas_router = APIRouter(prefix="/v1/ideas", tags=["ideas"], responses=AUTH_PROBLEMS)


@ideas_router.get(
    "",
    response_model=IdeasRead,
    response_model_by_alias=True,
    summary="What fans ask for: ideas grouped into themes, with counts, trend and examples",
    responses={400: {"description": "`to` not after `from`, or a window over 366 days"}},
)
async def list_ideas(
    principal: KpiReaderDep,
    session: SessionDep,
    brand_id: str = Query(min_length=1, max_length=100),
    start: AwareDatetime | None = Query(
        default=None, alias="from", description="RFC 3339; default 30 days before `to`"
    ),
    end: AwareDatetime | None = Query(default=None, alias="to", description="RFC 3339; now"),
) -> IdeasRead:
    return await service.themes(session, principal, brand_id=brand_id, start=start, end=end)
