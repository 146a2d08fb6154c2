"""Goals API: `/v1/goals` (create, list, read with attainment, change, delete)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from services.kpi.goals import service
from services.kpi.goals.schemas import GoalCreate, GoalPage, GoalRead, GoalUpdate
from services.kpi.metrics.dependencies import KpiReaderDep, SessionDep
from shared.auth import Principal, Scope, require_scopes
from shared.pagination import CursorPage, fetch_size

# Goals are set by whoever manages the team (team:write); reading them is reading KPIs.
GoalWriterDep = Annotated[Principal, Depends(require_scopes(Scope.team_write))]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {
        "description": "The API key lacks the scope, another brand, or a department it may"
        " not set goals for (a brand-wide goal needs a key without a department limit)"
    },
    404: {"description": "No such goal (or not visible to this key)"},
}
router = APIRouter(prefix="/v1/goals", tags=["goals"], responses=PROBLEMS)
GoalId = Annotated[str, Path(min_length=1, max_length=36)]


@router.post("", response_model=GoalRead, status_code=201, summary="Set a goal on a KPI")
async def create_goal(data: GoalCreate, principal: GoalWriterDep, session: SessionDep) -> GoalRead:
    goal = await service.create(session, principal, data)
    return await service.read(session, goal)


@router.get("", response_model=GoalPage, summary="Goals with their attainment")
async def list_goals(
    principal: KpiReaderDep,
    session: SessionDep,
    brand_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=36)] = None,
) -> GoalPage:
    rows = await service.page(
        session, principal, brand_id=brand_id, after=cursor, size=fetch_size(limit)
    )
    reads = [await service.read(session, goal) for goal in rows]
    page: CursorPage[GoalRead] = GoalPage.from_rows(
        reads, limit, item=lambda read: read, cursor=lambda read: read.id
    )
    return GoalPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/{goal_id}", response_model=GoalRead, summary="A goal and how it stands")
async def get_goal(goal_id: GoalId, principal: KpiReaderDep, session: SessionDep) -> GoalRead:
    goal = await service.get_visible(session, principal, goal_id)
    return await service.read(session, goal)


@router.patch("/{goal_id}", response_model=GoalRead, summary="Change a goal's target or period")
async def update_goal(
    goal_id: GoalId, data: GoalUpdate, principal: GoalWriterDep, session: SessionDep
) -> GoalRead:
    goal = await service.update(session, principal, goal_id, data)
    return await service.read(session, goal)


@router.delete("/{goal_id}", status_code=204, summary="Delete a goal (resolves its open alert)")
async def delete_goal(goal_id: GoalId, principal: GoalWriterDep, session: SessionDep) -> Response:
    await service.delete(session, principal, goal_id)
    return Response(status_code=204)
