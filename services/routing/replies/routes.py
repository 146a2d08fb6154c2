"""Replies HTTP API: draft a reply on a case, review it, edit it, read it; the approvals queue;
a brand's reply settings. Thin: parse → service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from services.routing.dependencies import (
    GuidelinesDep,
    IdempotencyDep,
    SessionDep,
    TransactionsDep,
)
from services.routing.models import bus_tables
from services.routing.replies import service
from services.routing.replies.dependencies import (
    ReplyApproverDep,
    ReplyReaderDep,
    ReplyWriterDep,
)
from services.routing.replies.schemas import (
    APPROVE_EXAMPLES,
    CREATE_EXAMPLES,
    EDIT_EXAMPLES,
    REJECT_EXAMPLES,
    SETTINGS_EXAMPLES,
    Rejection,
    ReplyCreate,
    ReplyEdit,
    ReplyPage,
    ReplyRead,
    ReplySettingsRead,
    ReplySettingsUpdate,
    ReviewDecision,
)
from services.routing.team.dependencies import TeamReaderDep, TeamWriterDep

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope"},
}
NO_CASE = {"description": "No such case, or one this key may not see (brand, department, HR)"}
NO_REPLY = {"description": "No such reply, or one of a case this key may not see"}
DRAFT_PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The author is not a member with a reply grant on the case's account"},
    409: {
        "description": "Closed case; nothing to send on (channel, connection, the 24-hour "
        "window of Messenger, Instagram Direct and WhatsApp); the brand has no guideline"
    },
    422: {
        "description": "Empty or too long for the channel, or the guideline check refused "
        "it: the check's violations, spans, messages and suggestions are in the problem"
    },
    503: {"description": "The guideline check is unavailable: nothing was stored or sent"},
}
REVIEW_PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a reviewer or lead of the case's department, or the author"},
    404: NO_REPLY,
    409: {"description": "The reply is not awaiting approval, or the window has closed"},
}

cases_router = APIRouter(prefix="/v1/cases", tags=["replies"], responses=PROBLEMS)
router = APIRouter(prefix="/v1/replies", tags=["replies"], responses=PROBLEMS)
approvals_router = APIRouter(prefix="/v1/approvals", tags=["replies"], responses=PROBLEMS)

CaseId = Annotated[str, Path(min_length=1, max_length=36)]
ReplyId = Annotated[str, Path(min_length=1, max_length=36)]
BrandId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]


@cases_router.post(
    "/{case_id}/replies",
    response_model=ReplyRead,
    status_code=201,
    summary="Draft a reply: checked against the guideline, then approval or the send",
    responses={
        404: NO_CASE,
        **DRAFT_PROBLEMS,
        409: {
            "description": f"{DRAFT_PROBLEMS[409]['description']}; Idempotency-Key reused "
            "with another request, or the same request still being checked (retry)"
        },
    },
)
async def create_reply(
    case_id: CaseId,
    data: Annotated[ReplyCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    principal: ReplyWriterDep,
    guidelines: GuidelinesDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    return await idempotency.create_in_steps(
        principal,
        data,
        lambda steps: service.create_reply(
            steps, bus_tables, guidelines, principal, case_id, data.text, data.author_member_id
        ),
    )


@cases_router.get(
    "/{case_id}/replies",
    response_model=ReplyPage,
    summary="The case's replies, oldest first",
    responses={404: NO_CASE},
)
async def list_case_replies(
    case_id: CaseId,
    principal: ReplyReaderDep,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReplyPage:
    return await service.list_case_replies(session, principal, case_id, limit=limit, cursor=cursor)


@router.get(
    "/settings/{brand_id}",
    response_model=ReplySettingsRead,
    summary="The brand's reply settings: what needs approval, resolve on reply",
)
async def get_reply_settings(
    brand_id: BrandId, principal: TeamReaderDep, session: SessionDep
) -> ReplySettingsRead:
    return await service.get_settings(session, principal, brand_id)


@router.put(
    "/settings/{brand_id}",
    response_model=ReplySettingsRead,
    summary="Set the brand's reply settings",
)
async def put_reply_settings(
    brand_id: BrandId,
    data: Annotated[ReplySettingsUpdate, Body(openapi_examples=SETTINGS_EXAMPLES)],
    principal: TeamWriterDep,
    session: SessionDep,
) -> ReplySettingsRead:
    return await service.put_settings(session, principal, brand_id, data)


@router.get(
    "/{reply_id}",
    response_model=ReplyRead,
    summary="One reply with its state and the time of every step",
    responses={404: NO_REPLY},
)
async def get_reply(reply_id: ReplyId, principal: ReplyReaderDep, session: SessionDep) -> ReplyRead:
    return await service.get_reply(session, principal, reply_id)


@router.put(
    "/{reply_id}",
    response_model=ReplyRead,
    summary="Edit and resubmit (the author): a new check, then the reviewer again",
    responses={
        404: NO_REPLY,
        **DRAFT_PROBLEMS,
        409: {"description": "Not awaiting or refused approval; closed case; window closed"},
    },
)
async def edit_reply(
    reply_id: ReplyId,
    data: Annotated[ReplyEdit, Body(openapi_examples=EDIT_EXAMPLES)],
    principal: ReplyWriterDep,
    transactions: TransactionsDep,
    guidelines: GuidelinesDep,
) -> ReplyRead:
    return await service.edit_reply(
        transactions, bus_tables, guidelines, principal, reply_id, data.text, data.author_member_id
    )


@router.post(
    "/{reply_id}/approve",
    response_model=ReplyRead,
    summary="Approve a reply waiting for review: it is sent",
    responses=REVIEW_PROBLEMS,
)
async def approve_reply(
    reply_id: ReplyId,
    data: Annotated[ReviewDecision, Body(openapi_examples=APPROVE_EXAMPLES)],
    principal: ReplyApproverDep,
    session: SessionDep,
) -> ReplyRead:
    return await service.approve_reply(
        session, bus_tables, principal, reply_id, data.comment, data.reviewer_member_id
    )


@router.post(
    "/{reply_id}/reject",
    response_model=ReplyRead,
    summary="Send a reply back to its author with what to change",
    responses=REVIEW_PROBLEMS,
)
async def reject_reply(
    reply_id: ReplyId,
    data: Annotated[Rejection, Body(openapi_examples=REJECT_EXAMPLES)],
    principal: ReplyApproverDep,
    session: SessionDep,
) -> ReplyRead:
    return await service.reject_reply(
        session, bus_tables, principal, reply_id, data.comment, data.reviewer_member_id
    )


@approvals_router.get(
    "",
    response_model=ReplyPage,
    summary="Replies waiting for a reviewer, oldest first",
)
async def list_approvals(
    principal: ReplyApproverDep,
    session: SessionDep,
    brand_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    department: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReplyPage:
    return await service.list_approvals(
        session,
        principal,
        brand_id=brand_id,
        department=department,
        limit=limit,
        cursor=cursor,
    )


routers = [cases_router, router, approvals_router]
