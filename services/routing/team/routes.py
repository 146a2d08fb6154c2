"""Team HTTP API: departments and calendars, members, social accounts and access grants, the
responsibilities matrix, SLA policies. Thin: parse, call the team service, answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from services.routing.dependencies import IdempotencyDep
from services.routing.team import repository, service
from services.routing.team.dependencies import AvailabilityDep, TeamReaderDep, TeamWriterDep
from services.routing.team.schemas import (
    AccountCreate,
    AccountPage,
    AccountRead,
    AccountUpdate,
    Availability,
    AvailabilityUpdate,
    Calendar,
    CalendarList,
    DepartmentCreate,
    DepartmentList,
    DepartmentRead,
    DepartmentUpdate,
    GrantList,
    GrantRead,
    GrantUpdate,
    MemberCreate,
    MemberPage,
    MemberRead,
    MemberUpdate,
    ResponsibilitiesRead,
    ResponsibilitiesUpdate,
    Role,
    SlaPolicyCreate,
    SlaPolicyPage,
    SlaPolicyRead,
    SlaPolicyUpdate,
)
from shared.dependencies import SessionDep
from shared.events.interactions import Channel
from shared.pagination import fetch_size

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {
        "description": "The API key lacks the scope, is limited to other brands, or has a "
        "department limit where a change concerns the whole brand or another department"
    },
    422: {"description": "A value that makes no sense; `field` names it"},
}
HIDDEN = (
    " (or of a brand or department outside the API key's limits: HR's are visible only to keys "
    "limited to hr)"
)
# Every POST that creates something honours `Idempotency-Key`.
REUSED = ", or an Idempotency-Key reused with another request"
BRAND_ID = Query(min_length=1, max_length=100, description="The brand")

departments_router = APIRouter(prefix="/v1/departments", tags=["team"], responses=PROBLEMS)
members_router = APIRouter(prefix="/v1/members", tags=["team"], responses=PROBLEMS)
accounts_router = APIRouter(prefix="/v1/accounts", tags=["team"], responses=PROBLEMS)
responsibilities_router = APIRouter(
    prefix="/v1/responsibilities", tags=["team"], responses=PROBLEMS
)
sla_router = APIRouter(prefix="/v1/sla-policies", tags=["sla"], responses=PROBLEMS)
calendars_router = APIRouter(prefix="/v1/calendars", tags=["sla"], responses=PROBLEMS)


# ---------------------------------------------------------------------------- departments


@departments_router.get(
    "",
    response_model=DepartmentList,
    summary="The brand's departments (the defaults are created on the brand's first use)",
)
async def list_departments(
    principal: TeamReaderDep, session: SessionDep, brand_id: str = BRAND_ID
) -> DepartmentList:
    return DepartmentList(items=await service.list_departments(session, principal, brand_id))


@departments_router.post(
    "",
    status_code=201,
    response_model=DepartmentRead,
    summary="Add a department to a brand",
    responses={409: {"description": "The brand already has a department with that key" + REUSED}},
)
async def create_department(
    data: DepartmentCreate,
    principal: TeamWriterDep,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    async def produce() -> DepartmentRead:
        department = await service.create_department(session, principal, data)
        return await service.read_department(session, department, principal)

    return await idempotency.create(principal, data, produce)


@departments_router.get(
    "/{department_id}",
    response_model=DepartmentRead,
    summary="One department",
    responses={404: {"description": "No such department" + HIDDEN}},
)
async def get_department(
    department_id: str, principal: TeamReaderDep, session: SessionDep
) -> DepartmentRead:
    department = await service.get_department(session, department_id, principal)
    return await service.read_department(session, department, principal)


@departments_router.patch(
    "/{department_id}",
    response_model=DepartmentRead,
    summary="Rename, enable or disable a department, or change its calendar",
    responses={404: {"description": "No such department" + HIDDEN}},
)
async def update_department(
    department_id: str, data: DepartmentUpdate, principal: TeamWriterDep, session: SessionDep
) -> DepartmentRead:
    department = await service.get_department(session, department_id, principal)
    await service.update_department(session, department, data)
    return await service.read_department(session, department, principal)


@departments_router.get(
    "/{department_id}/calendar",
    response_model=Calendar,
    summary="The department's business hours (its SLA clocks run on them)",
    responses={404: {"description": "No such department" + HIDDEN}},
)
async def get_calendar(
    department_id: str, principal: TeamReaderDep, session: SessionDep
) -> Calendar:
    department = await service.get_department(session, department_id, principal)
    return service.calendar_read(department)


@departments_router.put(
    "/{department_id}/calendar",
    response_model=Calendar,
    summary="Replace the department's business hours and holidays",
    responses={404: {"description": "No such department" + HIDDEN}},
)
async def put_calendar(
    department_id: str, data: Calendar, principal: TeamWriterDep, session: SessionDep
) -> Calendar:
    department = await service.get_department(session, department_id, principal)
    await service.replace_calendar(session, department, data)
    return service.calendar_read(department)


@calendars_router.get(
    "",
    response_model=CalendarList,
    summary="Every department's business hours, for the brand (SLA clocks run on them)",
)
async def list_calendars(
    principal: TeamReaderDep, session: SessionDep, brand_id: str = BRAND_ID
) -> CalendarList:
    return await service.list_calendars(session, principal, brand_id)


# -------------------------------------------------------------------------------- members


@members_router.get(
    "",
    response_model=MemberPage,
    summary="Members, oldest first, with filters; `total` counts every match the key may see",
    responses={404: {"description": "A `department` the brand does not have" + HIDDEN}},
)
async def list_members(
    principal: TeamReaderDep,
    session: SessionDep,
    brand_id: str | None = Query(default=None, min_length=1, max_length=100),
    department: str | None = Query(default=None, max_length=40, description="A department key"),
    role: Role | None = None,
    availability: Availability | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=400),
) -> MemberPage:
    return await service.list_members(
        session,
        principal,
        brand_id=brand_id,
        department=department,
        role=role,
        availability=availability,
        limit=limit,
        cursor=cursor,
    )


@members_router.post(
    "",
    status_code=201,
    response_model=MemberRead,
    summary="Add a member to the team",
    responses={
        404: {"description": "A department the brand does not have (`field` names it)"},
        409: {"description": "The brand already has a member with that email" + REUSED},
    },
)
async def create_member(
    data: MemberCreate, principal: TeamWriterDep, session: SessionDep, idempotency: IdempotencyDep
) -> JSONResponse:
    async def produce() -> MemberRead:
        member = await service.create_member(session, principal, data)
        return (await service.members_read(session, [member]))[0]

    return await idempotency.create(principal, data, produce)


@members_router.get(
    "/{member_id}",
    response_model=MemberRead,
    summary="One member",
    responses={404: {"description": "No such member" + HIDDEN}},
)
async def get_member(member_id: str, principal: TeamReaderDep, session: SessionDep) -> MemberRead:
    member = await service.get_member(session, member_id, principal)
    return (await service.members_read(session, [member]))[0]


@members_router.patch(
    "/{member_id}",
    response_model=MemberRead,
    summary="Change a member (departments, skills, languages, capacity, hours, ...)",
    responses={
        404: {"description": "No such member" + HIDDEN + ", or an unknown department"},
        409: {"description": "Another member of the brand has that email"},
    },
)
async def update_member(
    member_id: str, data: MemberUpdate, principal: TeamWriterDep, session: SessionDep
) -> MemberRead:
    member = await service.get_member(session, member_id, principal)
    await service.update_member(session, principal, member, data)
    return (await service.members_read(session, [member]))[0]


@members_router.delete(
    "/{member_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a member (and their access grants)",
    responses={
        404: {"description": "No such member" + HIDDEN},
        409: {"description": "The member still has open cases"},
    },
)
async def delete_member(member_id: str, principal: TeamWriterDep, session: SessionDep) -> Response:
    member = await service.get_member(session, member_id, principal)
    await service.delete_member(session, member)
    return Response(status_code=204)


@members_router.put(
    "/{member_id}/availability",
    response_model=MemberRead,
    summary="Set a member's availability (a lead with team:write, or the member)",
    responses={404: {"description": "No such member" + HIDDEN}},
)
async def put_availability(
    member_id: str, data: AvailabilityUpdate, principal: AvailabilityDep, session: SessionDep
) -> MemberRead:
    member = await service.set_availability(session, principal, member_id, data)
    return (await service.members_read(session, [member]))[0]


# ------------------------------------------------------------------- accounts and grants


@accounts_router.get("", response_model=AccountPage, summary="The brands' social accounts")
async def list_accounts(
    principal: TeamReaderDep,
    session: SessionDep,
    brand_id: str | None = Query(default=None, min_length=1, max_length=100),
    channel: Channel | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=100),
) -> AccountPage:
    rows = await repository.list_accounts(
        session,
        principal,
        brand_id=brand_id,
        channel=channel.value if channel else None,
        limit=fetch_size(limit),
        after_id=cursor,
    )
    return AccountPage.from_rows(rows, limit, item=service.account_read, cursor=lambda r: r.id)


@accounts_router.post(
    "",
    status_code=201,
    response_model=AccountRead,
    summary="Register a social account of the brand (the ids of an ingest connection)",
    responses={409: {"description": "The brand already has that account" + REUSED}},
)
async def create_account(
    data: AccountCreate, principal: TeamWriterDep, session: SessionDep, idempotency: IdempotencyDep
) -> JSONResponse:
    async def produce() -> AccountRead:
        return service.account_read(await service.create_account(session, principal, data))

    return await idempotency.create(principal, data, produce)


@accounts_router.get(
    "/{account_id}",
    response_model=AccountRead,
    summary="One social account",
    responses={404: {"description": "No such account" + HIDDEN}},
)
async def get_account(
    account_id: str, principal: TeamReaderDep, session: SessionDep
) -> AccountRead:
    return service.account_read(await service.get_account(session, account_id, principal))


@accounts_router.patch(
    "/{account_id}",
    response_model=AccountRead,
    summary="Rename, enable or disable an account",
    responses={404: {"description": "No such account" + HIDDEN}},
)
async def update_account(
    account_id: str, data: AccountUpdate, principal: TeamWriterDep, session: SessionDep
) -> AccountRead:
    account = await service.get_account(session, account_id, principal)
    return service.account_read(await service.update_account(session, principal, account, data))


@accounts_router.delete(
    "/{account_id}",
    status_code=204,
    response_class=Response,
    summary="Remove an account and its grants",
    responses={404: {"description": "No such account" + HIDDEN}},
)
async def delete_account(
    account_id: str, principal: TeamWriterDep, session: SessionDep
) -> Response:
    account = await service.get_account(session, account_id, principal)
    await service.delete_account(session, principal, account)
    return Response(status_code=204)


@accounts_router.get(
    "/{account_id}/grants",
    response_model=GrantList,
    summary="Who may read and reply from the account (members the key may see)",
    responses={404: {"description": "No such account" + HIDDEN}},
)
async def list_grants(account_id: str, principal: TeamReaderDep, session: SessionDep) -> GrantList:
    account = await service.get_account(session, account_id, principal)
    return GrantList(items=await service.list_grants(session, account, principal))


@accounts_router.put(
    "/{account_id}/grants/{member_id}",
    response_model=GrantRead,
    summary="Grant a member reading (and replying) from the account; a reply grant reads too",
    responses={404: {"description": "No such account or member" + HIDDEN}},
)
async def put_grant(
    account_id: str,
    member_id: str,
    data: GrantUpdate,
    principal: TeamWriterDep,
    session: SessionDep,
) -> GrantRead:
    account = await service.get_account(session, account_id, principal)
    return await service.put_grant(session, principal, account, member_id, data)


@accounts_router.delete(
    "/{account_id}/grants/{member_id}",
    status_code=204,
    response_class=Response,
    summary="Withdraw a member's access to the account",
    responses={404: {"description": "No such account, member or grant" + HIDDEN}},
)
async def delete_grant(
    account_id: str, member_id: str, principal: TeamWriterDep, session: SessionDep
) -> Response:
    account = await service.get_account(session, account_id, principal)
    await service.delete_grant(session, principal, account, member_id)
    return Response(status_code=204)


# ----------------------------------------------------------------------- responsibilities


@responsibilities_router.get(
    "",
    response_model=ResponsibilitiesRead,
    summary="Who owns what: every intent, its department and the department's members",
    responses={404: {"description": "A brand outside the API key's brand limit"}},
)
async def get_responsibilities(
    principal: TeamReaderDep, session: SessionDep, brand_id: str = BRAND_ID
) -> ResponsibilitiesRead:
    return await service.responsibilities(session, principal, brand_id)


@responsibilities_router.put(
    "",
    response_model=ResponsibilitiesRead,
    summary="Change which department owns some intents (null: nobody, the case is closed)",
    responses={404: {"description": "A department the brand does not have (`field` names it)"}},
)
async def put_responsibilities(
    data: ResponsibilitiesUpdate, principal: TeamWriterDep, session: SessionDep
) -> ResponsibilitiesRead:
    await service.update_responsibilities(session, principal, data)
    return await service.responsibilities(session, principal, data.brand_id)


# ---------------------------------------------------------------------------- SLA policies


@sla_router.get(
    "",
    response_model=SlaPolicyPage,
    summary="SLA policies",
    responses={404: {"description": "A `department` the brand does not have" + HIDDEN}},
)
async def list_sla_policies(
    principal: TeamReaderDep,
    session: SessionDep,
    brand_id: str | None = Query(default=None, min_length=1, max_length=100),
    department: str | None = Query(default=None, max_length=40, description="A department key"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=100),
) -> SlaPolicyPage:
    department_id = await service.member_filters_department(
        session, principal, brand_id, department
    )
    rows = await repository.list_sla_policies(
        session,
        principal,
        brand_id=brand_id,
        department_id=department_id,
        limit=fetch_size(limit),
        after_id=cursor,
    )
    return SlaPolicyPage.from_rows(
        rows,
        limit,
        item=lambda row: service.sla_policy_read(*row),
        cursor=lambda row: row[0].id,
    )


@sla_router.post(
    "",
    status_code=201,
    response_model=SlaPolicyRead,
    summary="Set a department's targets for one priority",
    responses={
        404: {"description": "A department the brand does not have"},
        409: {"description": "The department already has a policy for that priority" + REUSED},
    },
)
async def create_sla_policy(
    data: SlaPolicyCreate,
    principal: TeamWriterDep,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    async def produce() -> SlaPolicyRead:
        return service.sla_policy_read(*await service.create_sla_policy(session, principal, data))

    return await idempotency.create(principal, data, produce)


@sla_router.get(
    "/{policy_id}",
    response_model=SlaPolicyRead,
    summary="One SLA policy",
    responses={404: {"description": "No such policy" + HIDDEN}},
)
async def get_sla_policy(
    policy_id: str, principal: TeamReaderDep, session: SessionDep
) -> SlaPolicyRead:
    return service.sla_policy_read(*await service.get_sla_policy(session, policy_id, principal))


@sla_router.patch(
    "/{policy_id}",
    response_model=SlaPolicyRead,
    summary="Change an SLA policy's targets",
    responses={404: {"description": "No such policy" + HIDDEN}},
)
async def update_sla_policy(
    policy_id: str, data: SlaPolicyUpdate, principal: TeamWriterDep, session: SessionDep
) -> SlaPolicyRead:
    policy, key = await service.get_sla_policy(session, policy_id, principal)
    return service.sla_policy_read(await service.update_sla_policy(session, policy, data), key)


@sla_router.delete(
    "/{policy_id}",
    status_code=204,
    response_class=Response,
    summary="Remove an SLA policy (the priority's defaults apply again)",
    responses={404: {"description": "No such policy" + HIDDEN}},
)
async def delete_sla_policy(
    policy_id: str, principal: TeamWriterDep, session: SessionDep
) -> Response:
    policy, _key = await service.get_sla_policy(session, policy_id, principal)
    await service.delete_sla_policy(session, policy)
    return Response(status_code=204)


routers = [
    departments_router,
    members_router,
    accounts_router,
    responsibilities_router,
    sla_router,
    calendars_router,
]
