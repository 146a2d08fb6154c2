"""Canned replies HTTP API, and a case's suggestions. Thin: parse → service → response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response

from services.routing.canned import service
from services.routing.canned.dependencies import CannedReaderDep, CannedWriterDep, GuidelinesDep
from services.routing.canned.schemas import (
    CODE_PATTERN,
    CREATE_EXAMPLE,
    CannedReplyCreate,
    CannedReplyPage,
    CannedReplyRead,
    CannedReplyUpdate,
    Language,
    SuggestionList,
)
from services.routing.dependencies import (
    IdempotencyDep,
    SessionDep,
    SettingsDep,
    TransactionsDep,
)
from services.routing.intents import Intent
from shared.idempotency import Steps

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {
        "description": "The API key lacks the scope, or writes for a brand or department "
        "outside its limits (HR's only with a key limited to hr)"
    },
}
HIDDEN = " (or one of a brand or department this API key may not see)"
SAVE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "An unknown department"},
    409: {
        "description": "The brand already has that code in that language, or an "
        "Idempotency-Key reused with another request (or the same request still being "
        "checked: retry)"
    },
    422: {
        "description": "Unknown variables (`unknown_variables`), or a text that breaks the "
        "brand's guideline (`violations`, as the check explains them)"
    },
    503: {"description": "The guidelines service cannot be reached: nothing was saved"},
}

router = APIRouter(prefix="/v1/canned-replies", tags=["canned replies"], responses=PROBLEMS)
suggestions_router = APIRouter(prefix="/v1/cases", tags=["canned replies"], responses=PROBLEMS)

CannedId = Annotated[str, Path(min_length=1, max_length=36)]


@router.get("", response_model=CannedReplyPage, summary="Canned replies, by brand, language, code")
async def list_canned_replies(
    principal: CannedReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    brand_id: str | None = Query(default=None, min_length=1, max_length=100),
    lang: Language | None = None,
    intent: Intent | None = None,
    code: str | None = Query(default=None, pattern=CODE_PATTERN),
    department: str | None = Query(default=None, min_length=1, max_length=40),
    enabled: bool | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=800),
) -> CannedReplyPage:
    return await service.list_canned(
        session,
        principal,
        brand_id=brand_id,
        lang=lang,
        intent=intent.value if intent else None,
        code=code,
        department=department,
        enabled=enabled,
        limit=limit,
        cursor=cursor,
        seed_defaults=settings.canned_defaults,
    )


@router.post(
    "",
    status_code=201,
    response_model=CannedReplyRead,
    summary="Save a canned reply (checked against the brand's guideline first)",
    responses=SAVE_PROBLEMS,
)
async def create_canned_reply(
    data: Annotated[CannedReplyCreate, Body(openapi_examples={"es": {"value": CREATE_EXAMPLE}})],
    principal: CannedWriterDep,
    guidelines: GuidelinesDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    async def produce(steps: Steps) -> CannedReplyRead:
        row = await service.create_canned(steps, guidelines, principal, data)
        return service.canned_read(row)

    return await idempotency.create_in_steps(principal, data, produce)


@router.get(
    "/{canned_reply_id}",
    response_model=CannedReplyRead,
    summary="One canned reply",
    responses={404: {"description": "No such canned reply" + HIDDEN}},
)
async def get_canned_reply(
    canned_reply_id: CannedId, principal: CannedReaderDep, session: SessionDep
) -> CannedReplyRead:
    return service.canned_read(await service.get_canned(session, principal, canned_reply_id))


@router.patch(
    "/{canned_reply_id}",
    response_model=CannedReplyRead,
    summary="Change a canned reply (a new text is checked again)",
    responses={
        **SAVE_PROBLEMS,
        404: {"description": "No such canned reply" + HIDDEN + ", or an unknown department"},
        409: {
            "description": "The code is taken, `version` is not the current one, or the text "
            "or intents were changed by another save while this one was checked"
        },
    },
)
async def update_canned_reply(
    canned_reply_id: CannedId,
    data: CannedReplyUpdate,
    principal: CannedWriterDep,
    transactions: TransactionsDep,
    guidelines: GuidelinesDep,
) -> CannedReplyRead:
    row = await service.update_canned(transactions, guidelines, principal, canned_reply_id, data)
    return service.canned_read(row)


@router.delete(
    "/{canned_reply_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a canned reply",
    responses={404: {"description": "No such canned reply" + HIDDEN}},
)
async def delete_canned_reply(
    canned_reply_id: CannedId, principal: CannedWriterDep, session: SessionDep
) -> Response:
    await service.delete_canned(session, principal, canned_reply_id)
    return Response(status_code=204)


@suggestions_router.get(
    "/{case_id}/suggestions",
    response_model=SuggestionList,
    summary="Canned replies for the case's intent and language, filled in and ranked",
    responses={404: {"description": "No such case" + HIDDEN}},
)
async def case_suggestions(
    case_id: Annotated[str, Path(min_length=1, max_length=36)],
    principal: CannedReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    limit: int = Query(default=10, ge=1, le=50),
) -> SuggestionList:
    return await service.suggestions(
        session, principal, case_id, limit=limit, seed_defaults=settings.canned_defaults
    )


routers = [router, suggestions_router]
