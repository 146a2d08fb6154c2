"""Rules HTTP API: a brand's ordered routing rules, and trying them on an interaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response

from services.routing.dependencies import ClassifierDep, IdempotencyDep
from services.routing.rulebook import service
from services.routing.rulebook.schemas import (
    RULE_EXAMPLES,
    RULE_SPEC_EXAMPLES,
    RULE_TEST_EXAMPLES,
    RuleCreate,
    RulePage,
    RulePatch,
    RuleRead,
    RuleTestRequest,
    RuleTestResponse,
)
from services.routing.rules import RuleSpec
from services.routing.team.dependencies import TeamReaderDep, TeamWriterDep
from shared.dependencies import SessionDep
from shared.idempotency import CONFLICT_RESPONSE

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {
        "description": "The API key lacks the scope, is limited to other brands, or is limited "
        "to departments and the rule is another department's or the whole brand's"
    },
    422: {
        "description": "An unknown condition or action field, an unsafe regular expression, "
        "or a value out of range; `field` names it"
    },
}
HIDDEN = " (or of a brand or department outside the API key's limits)"
router = APIRouter(prefix="/v1/rules", tags=["rules"], responses=PROBLEMS)
UNKNOWN_REFERENCE: dict[int | str, dict[str, Any]] = {
    404: {"description": "A department or SLA policy the brand does not have (`field` names it)"}
}


@router.get("", response_model=RulePage, summary="The brand's rules in evaluation order")
async def list_rules(
    principal: TeamReaderDep,
    session: SessionDep,
    brand_id: str = Query(min_length=1, max_length=100),
    limit: int = Query(default=100, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=400),
) -> RulePage:
    rows = await service.list_rules(session, principal, brand_id, limit=limit + 1, cursor=cursor)
    return RulePage.from_rows(rows, limit, item=service.rule_read, cursor=service.encode_cursor)


@router.post(
    "",
    status_code=201,
    response_model=RuleRead,
    summary="Add a rule (version 1)",
    responses={**UNKNOWN_REFERENCE, **CONFLICT_RESPONSE},
)
async def create_rule(
    data: Annotated[RuleCreate, Body(openapi_examples=RULE_EXAMPLES)],
    principal: TeamWriterDep,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    async def produce() -> RuleRead:
        return service.rule_read(await service.create_rule(session, principal, data))

    return await idempotency.create(principal, data, produce)


@router.post(
    "/test",
    response_model=RuleTestResponse,
    summary="Which rules match an interaction, the decision and why; no case is opened",
    description=(
        "The interaction's intent is classified as routing would (or taken from `intent`); the "
        "brand's stored rules run (or the draft `rules` given), then the responsibilities "
        "matrix; the answer names the matched rules, the decision, every rule's explanation in "
        "English and Spanish (or in `lang`), and the member routing would assign now."
    ),
    responses={404: {"description": "A brand outside the API key's brand limit"}},
)
async def test_rules(
    data: Annotated[RuleTestRequest, Body(openapi_examples=RULE_TEST_EXAMPLES)],
    principal: TeamReaderDep,
    session: SessionDep,
    classifier: ClassifierDep,
) -> RuleTestResponse:
    return await service.test_rules(session, principal, classifier, data)


@router.get(
    "/{rule_id}",
    response_model=RuleRead,
    summary="One rule",
    responses={404: {"description": "No such rule" + HIDDEN}},
)
async def get_rule(rule_id: str, principal: TeamReaderDep, session: SessionDep) -> RuleRead:
    return service.rule_read(await service.get_rule(session, rule_id, principal))


@router.put(
    "/{rule_id}",
    response_model=RuleRead,
    summary="Replace a rule (its version grows by one)",
    responses={404: {"description": "No such rule" + HIDDEN + ", or an unknown reference"}},
)
async def replace_rule(
    rule_id: str,
    data: Annotated[RuleSpec, Body(openapi_examples=RULE_SPEC_EXAMPLES)],
    principal: TeamWriterDep,
    session: SessionDep,
) -> RuleRead:
    rule = await service.get_rule(session, rule_id, principal)
    return service.rule_read(await service.replace_rule(session, principal, rule, data))


@router.patch(
    "/{rule_id}",
    response_model=RuleRead,
    summary="Move, rename, enable or disable a rule (its version grows by one)",
    responses={404: {"description": "No such rule" + HIDDEN}},
)
async def patch_rule(
    rule_id: str, data: RulePatch, principal: TeamWriterDep, session: SessionDep
) -> RuleRead:
    rule = await service.get_rule(session, rule_id, principal)
    return service.rule_read(await service.patch_rule(session, principal, rule, data))


@router.delete(
    "/{rule_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a rule",
    responses={404: {"description": "No such rule" + HIDDEN}},
)
async def delete_rule(rule_id: str, principal: TeamWriterDep, session: SessionDep) -> Response:
    rule = await service.get_rule(session, rule_id, principal)
    await service.delete_rule(session, principal, rule)
    return Response(status_code=204)
