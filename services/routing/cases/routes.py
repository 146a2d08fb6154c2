"""Cases HTTP API: list, read, change, assign, transfer, notes. Thin: parse → service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query

from services.routing.cases import service
from services.routing.cases.dependencies import CaseReaderDep, CaseWriterDep, SchedulerDep
from services.routing.cases.schemas import (
    ASSIGN_EXAMPLES,
    NOTE_EXAMPLES,
    TRANSFER_EXAMPLES,
    UPDATE_EXAMPLES,
    AssignRequest,
    CaseCount,
    CaseDetail,
    CasePage,
    CaseRead,
    CaseUpdate,
    NoteCreate,
    NoteRead,
    SlaState,
    TransferRequest,
)
from services.routing.dependencies import SessionDep
from services.routing.models import bus_tables
from shared.events.cases import CaseStatus, Priority
from shared.events.interactions import Channel, SentimentLabel

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope"},
}
NOT_FOUND = {"description": "No such case, or one this key may not see (brand, department, HR)"}
router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=PROBLEMS)

CaseId = Annotated[str, Path(min_length=1, max_length=36)]
Short = Annotated[str | None, Query(min_length=1, max_length=100)]


class CaseFilters:
    """The list and count filters, as one dependency."""

    def __init__(
        self,
        brand_id: Short = None,
        status: CaseStatus | None = None,
        department: Short = None,
        assignee_id: Short = None,
        priority: Priority | None = None,
        sla: Annotated[
            SlaState | None, Query(description="breached, or at risk and not yet breached")
        ] = None,
        channel: Channel | None = None,
        intent: Short = None,
        lang: Annotated[str | None, Query(min_length=2, max_length=8)] = None,
        sentiment: SentimentLabel | None = None,
        tag: Short = None,
        q: Annotated[
            str | None, Query(min_length=1, max_length=200, description="Text in any message")
        ] = None,
    ) -> None:
        self.values: dict[str, Any] = {
            "brand_id": brand_id,
            "status": status,
            "department": department,
            "assignee_id": assignee_id,
            "priority": priority,
            "sla": sla,
            "channel": channel.value if channel else None,
            "intent": intent,
            "lang": lang,
            "sentiment": sentiment.value if sentiment else None,
            "tag": tag,
            "q": q,
        }


FiltersDep = Annotated[CaseFilters, Depends(CaseFilters)]


@router.get("", response_model=CasePage, summary="Search cases, newest first")
async def list_cases(
    principal: CaseReaderDep,
    session: SessionDep,
    filters: FiltersDep,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=500),
) -> CasePage:
    conditions = service.filters(**filters.values)
    return await service.list_cases(session, principal, conditions, limit=limit, cursor=cursor)


@router.get("/count", response_model=CaseCount, summary="How many cases match the filters")
async def count_cases(
    principal: CaseReaderDep,
    session: SessionDep,
    filters: FiltersDep,
) -> CaseCount:
    conditions = service.filters(**filters.values)
    return CaseCount(count=await service.count_cases(session, principal, conditions))


@router.get(
    "/{case_id}",
    response_model=CaseDetail,
    summary="One case with its messages, history and notes",
    responses={404: NOT_FOUND},
)
async def get_case(case_id: CaseId, principal: CaseReaderDep, session: SessionDep) -> CaseDetail:
    return await service.case_detail(session, principal, case_id)


@router.patch(
    "/{case_id}",
    response_model=CaseRead,
    summary="Change status, priority, tags or intent (a correction becomes a labelled example)",
    responses={404: NOT_FOUND, 409: {"description": "`version` is not the case's version"}},
)
async def update_case(
    case_id: CaseId,
    data: Annotated[CaseUpdate, Body(openapi_examples=UPDATE_EXAMPLES)],
    principal: CaseWriterDep,
    session: SessionDep,
    scheduler: SchedulerDep,
) -> CaseRead:
    case = await service.update_case(session, bus_tables, principal, case_id, data)
    if scheduler is not None and data.status is not None:
        scheduler.notify()  # a freed place: the queue may move
    return case


@router.post(
    "/{case_id}/assign",
    response_model=CaseRead,
    summary="Give the case to a member of its department",
    responses={
        404: {"description": "No such case or member"},
        409: {"description": "Closed case, or a member without room, grant or department"},
    },
)
async def assign_case(
    case_id: CaseId,
    data: Annotated[AssignRequest, Body(openapi_examples=ASSIGN_EXAMPLES)],
    principal: CaseWriterDep,
    session: SessionDep,
) -> CaseRead:
    return await service.assign_case(session, bus_tables, principal, case_id, data.member_id)


@router.post(
    "/{case_id}/transfer",
    response_model=CaseRead,
    summary="Hand the case to another department, with a note",
    responses={404: {"description": "No such case or department"}, 409: {"description": "Closed"}},
)
async def transfer_case(
    case_id: CaseId,
    data: Annotated[TransferRequest, Body(openapi_examples=TRANSFER_EXAMPLES)],
    principal: CaseWriterDep,
    session: SessionDep,
) -> CaseRead:
    return await service.transfer_case(
        session, bus_tables, principal, case_id, data.department, data.note
    )


@router.post(
    "/{case_id}/notes",
    response_model=NoteRead,
    status_code=201,
    summary="Add an internal note",
    responses={404: NOT_FOUND},
)
async def add_note(
    case_id: CaseId,
    data: Annotated[NoteCreate, Body(openapi_examples=NOTE_EXAMPLES)],
    principal: CaseWriterDep,
    session: SessionDep,
) -> NoteRead:
    return await service.add_note(session, bus_tables, principal, case_id, data.text)
