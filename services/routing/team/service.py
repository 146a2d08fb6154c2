"""The team's configuration (DESIGN steps 1–3): departments and their calendars, members,
social accounts and access grants, the responsibilities matrix, SLA policies.

Every change bumps the brand's configuration version (`config_versions`) in the same
transaction, so cached routing snapshots (`services.routing.service.load_routing_config`) of
every replica see it on their next use. A brand gets the default departments, matrix and rules
on its first use (`ensure_brand`).

Limits: brand limits as everywhere (404 for another brand's objects, 403 to create for one);
department limits through `Principal.may_see_department`: a key limited to departments sees
those departments, their members and policies only; HR's only with `hr` in its limit. A member
of HR is HR's, even if also in another department. What belongs to the whole brand (creating
departments, accounts, the matrix) needs a key without a department limit.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.intents import Intent
from services.routing.models import AccessGrant, Account, Department, Member, SlaPolicy
from services.routing.rulebook import repository as rules_repository
from services.routing.rules import DEFAULT_DEPARTMENTS, DEFAULT_RESPONSIBILITIES, DEFAULT_RULES
from services.routing.team import repository
from services.routing.team.exceptions import (
    AccountNotFoundError,
    DuplicateError,
    GrantNotFoundError,
    InvalidSettingError,
    MemberNotFoundError,
    SlaPolicyNotFoundError,
    TeamForbiddenError,
    department_not_found,
)
from services.routing.team.schemas import (
    OFFICE_HOURS,
    AccountCreate,
    AccountRead,
    AccountUpdate,
    Availability,
    AvailabilityUpdate,
    Calendar,
    CalendarList,
    DepartmentCalendar,
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    GrantRead,
    GrantUpdate,
    MemberBrief,
    MemberCreate,
    MemberPage,
    MemberRead,
    MemberUpdate,
    OwnerRead,
    ResponsibilitiesRead,
    ResponsibilitiesUpdate,
    ResponsibilityRead,
    Role,
    SlaPolicyCreate,
    SlaPolicyRead,
    SlaPolicyUpdate,
)
from shared.auth import (
    Principal,
    Scope,
    ensure_brand_visible,
    ensure_brand_writable,
    ensure_every_department,
)
from shared.business_hours import BusinessCalendar, CalendarError
from shared.errors import AppError, UnprocessableError
from shared.ids import random_uuid
from shared.pagination import fetch_size

DEFAULT_TIMEZONE = "UTC"


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return random_uuid()


# ------------------------------------------------------------------------------- calendars


def build_calendar(
    timezone: str, weekly_hours: dict[str, Any], holidays: Iterable[date | str], *, field: str
) -> BusinessCalendar:
    """The calendar, or 422 naming the part that makes no sense (`weekly_hours.monday.0`)."""
    try:
        days = [item if isinstance(item, date) else date.fromisoformat(item) for item in holidays]
        return BusinessCalendar(timezone, weekly_hours, days)
    except CalendarError as exc:
        name = "timezone" if exc.field == "time_zone" else exc.field
        raise InvalidSettingError(
            f"{field}.{name}: {exc.reason}",
            f"{field}.{name}: el horario no tiene sentido ({exc.reason})",
            field=f"{field}.{name}",
            reason=exc.reason,
        ) from None
    except ValueError as exc:
        raise InvalidSettingError(
            f"{field}.holidays: {exc}",
            f"{field}.holidays: fecha no válida",
            field=f"{field}.holidays",
        ) from None


def _weekly(value: dict[str, Any]) -> dict[str, Any]:
    return {day: [list(span) for span in spans] for day, spans in value.items()}


def _holidays(value: Iterable[date]) -> list[str]:
    return sorted({day.isoformat() for day in value})


def department_calendar(department: Department) -> BusinessCalendar:
    return BusinessCalendar(
        department.timezone,
        department.weekly_hours,
        [date.fromisoformat(day) for day in department.holidays],
    )


def member_calendar(member: Member) -> BusinessCalendar | None:
    if not member.weekly_hours:
        return None
    return BusinessCalendar(
        member.timezone, member.weekly_hours, [date.fromisoformat(day) for day in member.holidays]
    )


# ---------------------------------------------------------------------- a brand's defaults


async def ensure_brand(session: AsyncSession, brand_id: str) -> None:
    """Give a brand seen for the first time the default departments, matrix and rules (safe
    under concurrent first requests: inserts that find their row skip it)."""
    if await repository.has_departments(session, brand_id):
        return
    at = now()
    inserted = await repository.insert_missing_departments(
        session,
        [
            {
                "id": new_id(),
                "brand_id": brand_id,
                "key": default.slug,
                "name_es": default.name_es,
                "name_en": default.name_en,
                "timezone": DEFAULT_TIMEZONE,
                "weekly_hours": OFFICE_HOURS,
                "holidays": [],
                "enabled": True,
                "created_at": at,
                "updated_at": at,
            }
            for default in DEFAULT_DEPARTMENTS
        ],
    )
    if not inserted:
        return  # a concurrent request set the brand up
    departments = await repository.departments_by_key(
        session, brand_id, [default.slug for default in DEFAULT_DEPARTMENTS]
    )
    await repository.insert_missing_responsibilities(
        session,
        [
            {
                "brand_id": brand_id,
                "intent": intent,
                "department_id": departments[key].id if key else None,
                "updated_at": at,
            }
            for intent, key in DEFAULT_RESPONSIBILITIES.items()
        ],
    )
    await rules_repository.insert_default_rules(session, brand_id, DEFAULT_RULES, at)
    await repository.bump_config_version(session, brand_id)


# ---------------------------------------------------------------------------- departments


def department_read(department: Department, member_count: int) -> DepartmentRead:
    return DepartmentRead(
        id=department.id,
        brand_id=department.brand_id,
        key=department.key,
        name_es=department.name_es,
        name_en=department.name_en,
        calendar=calendar_read(department),
        enabled=department.enabled,
        member_count=member_count,
        created_at=department.created_at,
        updated_at=department.updated_at,
    )


def calendar_read(department: Department) -> Calendar:
    return Calendar.model_validate(
        {
            "timezone": department.timezone,
            "weekly_hours": department.weekly_hours,
            "holidays": department.holidays,
        }
    )


async def list_departments(
    session: AsyncSession, principal: Principal, brand_id: str
) -> list[DepartmentRead]:
    """The brand's departments the key may see (defaults created on the brand's first use)."""
    if not principal.allows_brand(brand_id):
        return []
    await ensure_brand(session, brand_id)
    departments = await repository.list_departments(session, brand_id, principal)
    counts = await repository.member_counts(session, [d.id for d in departments], principal)
    return [department_read(d, counts.get(d.id, 0)) for d in departments]


async def list_calendars(
    session: AsyncSession, principal: Principal, brand_id: str
) -> CalendarList:
    """Every department's calendar the key may see (defaults on the brand's first use)."""
    if not principal.allows_brand(brand_id):
        return CalendarList(brand_id=brand_id, items=[])
    await ensure_brand(session, brand_id)
    departments = await repository.list_departments(session, brand_id, principal)
    return CalendarList(
        brand_id=brand_id,
        items=[
            DepartmentCalendar(
                department_id=department.id,
                department=department.key,
                name_es=department.name_es,
                name_en=department.name_en,
                enabled=department.enabled,
                calendar=calendar_read(department),
            )
            for department in departments
        ],
    )


def _department_missing(department_id: str) -> AppError:
    from services.routing.team.exceptions import DepartmentNotFoundError

    return DepartmentNotFoundError(
        f"no department with id {department_id}",
        f"no existe ningún departamento con id {department_id}",
        field="department_id",
    )


async def get_department(
    session: AsyncSession, department_id: str, principal: Principal
) -> Department:
    """The department, or 404 when missing, of another brand, or outside the key's limit."""
    department = await repository.get_department(session, department_id)
    missing = _department_missing(department_id)
    if department is None:
        raise missing
    ensure_brand_visible(principal, department.brand_id, missing)
    if not principal.may_see_department(department.key):
        raise missing
    return department


async def read_department(
    session: AsyncSession, department: Department, principal: Principal
) -> DepartmentRead:
    counts = await repository.member_counts(session, [department.id], principal)
    return department_read(department, counts.get(department.id, 0))


async def create_department(
    session: AsyncSession, principal: Principal, data: DepartmentCreate
) -> Department:
    ensure_brand_writable(principal, data.brand_id)
    ensure_every_department(principal, "creating a department")
    await ensure_brand(session, data.brand_id)
    if await repository.departments_by_key(session, data.brand_id, [data.key]):
        raise DuplicateError(
            f"brand {data.brand_id} already has a department {data.key}",
            f"la marca {data.brand_id} ya tiene el departamento {data.key}",
            field="key",
        )
    calendar = data.calendar or Calendar(timezone=DEFAULT_TIMEZONE, weekly_hours=OFFICE_HOURS)
    build_calendar(calendar.timezone, calendar.weekly_hours, calendar.holidays, field="calendar")
    at = now()
    department = Department(
        id=new_id(),
        brand_id=data.brand_id,
        key=data.key,
        name_es=data.name_es,
        name_en=data.name_en,
        timezone=calendar.timezone,
        weekly_hours=_weekly(calendar.weekly_hours),
        holidays=_holidays(calendar.holidays),
        enabled=data.enabled,
        created_at=at,
        updated_at=at,
    )
    repository.add(session, department)
    await session.flush()
    await repository.bump_config_version(session, data.brand_id)
    return department


def set_calendar(department: Department, calendar: Calendar) -> None:
    build_calendar(calendar.timezone, calendar.weekly_hours, calendar.holidays, field="calendar")
    department.timezone = calendar.timezone
    department.weekly_hours = _weekly(calendar.weekly_hours)
    department.holidays = _holidays(calendar.holidays)


async def update_department(
    session: AsyncSession, department: Department, data: DepartmentUpdate
) -> Department:
    if data.name_es is not None:
        department.name_es = data.name_es
    if data.name_en is not None:
        department.name_en = data.name_en
    if data.enabled is not None:
        department.enabled = data.enabled
    if data.calendar is not None:
        set_calendar(department, data.calendar)
    department.updated_at = now()
    await session.flush()
    await repository.bump_config_version(session, department.brand_id)
    return department


async def replace_calendar(
    session: AsyncSession, department: Department, calendar: Calendar
) -> Department:
    set_calendar(department, calendar)
    department.updated_at = now()
    await session.flush()
    await repository.bump_config_version(session, department.brand_id)
    return department


async def resolve_departments(
    session: AsyncSession,
    principal: Principal,
    brand_id: str,
    keys: Sequence[str],
    *,
    field: str = "departments",
) -> list[Department]:
    """The brand's departments named by `keys`: 404 for one it lacks, 403 for one outside the
    key's department limit."""
    found = await repository.departments_by_key(session, brand_id, keys)
    for position, key in enumerate(keys):
        if key not in found:
            raise department_not_found(brand_id, key, f"{field}.{position}")
        if not principal.may_see_department(key):
            raise TeamForbiddenError(
                f"this API key may not manage department {key}",
                f"esta clave de API no puede gestionar el departamento {key}",
                field=f"{field}.{position}",
                reason="department_limited",
            )
    return [found[key] for key in dict.fromkeys(keys)]


# -------------------------------------------------------------------------------- members


def member_read(member: Member, departments: list[str]) -> MemberRead:
    return MemberRead(
        id=member.id,
        brand_id=member.brand_id,
        name=member.name,
        email=member.email,
        role=Role(member.role),
        departments=departments,
        skills=member.skills,
        languages=member.languages,
        capacity=member.capacity,
        timezone=member.timezone,
        weekly_hours=member.weekly_hours or None,
        holidays=[date.fromisoformat(day) for day in member.holidays],
        availability=member.availability,
        availability_changed_at=member.availability_changed_at,
        open_cases=member.open_cases,
        last_assigned_at=member.last_assigned_at,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


async def members_read(session: AsyncSession, members: Sequence[Member]) -> list[MemberRead]:
    keys = await repository.department_keys_of(session, [member.id for member in members])
    return [member_read(member, keys.get(member.id, [])) for member in members]


def _member_missing(member_id: str, field: str = "member_id") -> AppError:
    return MemberNotFoundError(
        f"no member with id {member_id}",
        f"no existe ningún miembro con id {member_id}",
        field=field,
    )


async def get_member(session: AsyncSession, member_id: str, principal: Principal) -> Member:
    """The member, or 404 when missing or outside the key's brand or department limits."""
    if not await repository.member_visible(session, member_id, principal):
        raise _member_missing(member_id)
    member = await repository.get_member(session, member_id)
    if member is None:
        raise _member_missing(member_id)
    return member


def _check_member_calendar(
    timezone: str, weekly_hours: dict[str, Any] | None, holidays: Iterable[date]
) -> None:
    if weekly_hours:
        build_calendar(timezone, weekly_hours, holidays, field="member")
        return
    build_calendar(timezone, {"monday": [("00:00", "24:00")]}, holidays, field="member")


def _member_field(error: AppError) -> AppError:
    # Calendar fields of a member are top-level (`weekly_hours.monday.0`, `timezone`).
    field = str(error.extra.get("field", ""))
    if field.startswith("member."):
        error.extra["field"] = field.removeprefix("member.")
    return error


async def _ensure_unique_email(
    session: AsyncSession, brand_id: str, email: str, member_id: str | None = None
) -> None:
    existing = await repository.member_with_email(session, brand_id, email)
    if existing is not None and existing != member_id:
        raise DuplicateError(
            f"brand {brand_id} already has a member with email {email}",
            f"la marca {brand_id} ya tiene un miembro con el correo {email}",
            field="email",
        )


async def create_member(session: AsyncSession, principal: Principal, data: MemberCreate) -> Member:
    ensure_brand_writable(principal, data.brand_id)
    await ensure_brand(session, data.brand_id)
    departments = await resolve_departments(session, principal, data.brand_id, data.departments)
    try:
        _check_member_calendar(data.timezone, data.weekly_hours, data.holidays)
    except AppError as exc:
        raise _member_field(exc) from None
    await _ensure_unique_email(session, data.brand_id, data.email)
    at = now()
    member = Member(
        id=new_id(),
        brand_id=data.brand_id,
        name=data.name,
        email=data.email,
        role=data.role.value,
        skills=list(dict.fromkeys(data.skills)),
        languages=list(dict.fromkeys(data.languages)),
        capacity=data.capacity,
        timezone=data.timezone,
        weekly_hours=_weekly(data.weekly_hours) if data.weekly_hours else {},
        holidays=_holidays(data.holidays),
        availability=data.availability.value,
        availability_changed_at=at,
        open_cases=0,
        last_assigned_at=None,
        created_at=at,
        updated_at=at,
    )
    repository.add(session, member)
    await session.flush()
    await repository.set_member_departments(session, member.id, [d.id for d in departments])
    await session.flush()
    await repository.bump_config_version(session, data.brand_id)
    return member


async def update_member(
    session: AsyncSession, principal: Principal, member: Member, data: MemberUpdate
) -> Member:
    fields = data.model_fields_set
    if data.departments is not None:
        departments = await resolve_departments(
            session, principal, member.brand_id, data.departments
        )
        await repository.set_member_departments(session, member.id, [d.id for d in departments])
    if data.email is not None and data.email != member.email:
        await _ensure_unique_email(session, member.brand_id, data.email, member.id)
        member.email = data.email
    timezone = data.timezone or member.timezone
    weekly_hours = data.weekly_hours if "weekly_hours" in fields else member.weekly_hours
    holidays = (
        data.holidays
        if data.holidays is not None
        else [date.fromisoformat(day) for day in member.holidays]
    )
    try:
        _check_member_calendar(timezone, weekly_hours, holidays)
    except AppError as exc:
        raise _member_field(exc) from None
    member.timezone = timezone
    member.weekly_hours = _weekly(weekly_hours) if weekly_hours else {}
    member.holidays = _holidays(holidays)
    if data.name is not None:
        member.name = data.name
    if data.role is not None:
        member.role = data.role.value
    if data.skills is not None:
        member.skills = list(dict.fromkeys(data.skills))
    if data.languages is not None:
        member.languages = list(dict.fromkeys(data.languages))
    if data.capacity is not None:
        member.capacity = data.capacity
    member.updated_at = now()
    await session.flush()
    await repository.bump_config_version(session, member.brand_id)
    return member


async def delete_member(session: AsyncSession, member: Member) -> None:
    if member.open_cases > 0:
        from shared.errors import ConflictError

        raise ConflictError(
            f"member {member.id} still has {member.open_cases} open cases; reassign them first",
            detail_es=(
                f"el miembro {member.id} aún tiene {member.open_cases} casos abiertos; "
                "reasígnalos antes"
            ),
            field="member_id",
        )
    brand_id = member.brand_id
    await repository.delete_member(session, member)
    await session.flush()
    await repository.bump_config_version(session, brand_id)


def may_set_availability(principal: Principal, member_id: str) -> bool:
    """A lead (a key with team:write) or the member themself (a principal naming them)."""
    if principal.has(Scope.team_write.value):
        return True
    return getattr(principal, "member_id", None) == member_id


async def set_availability(
    session: AsyncSession, principal: Principal, member_id: str, data: AvailabilityUpdate
) -> Member:
    member = await get_member(session, member_id, principal)
    if not may_set_availability(principal, member_id):
        raise TeamForbiddenError(
            "only a lead (team:write) or the member may change their availability",
            "solo un responsable (team:write) o el propio miembro puede cambiar su disponibilidad",
            field="availability",
        )
    if member.availability != data.availability.value:
        await repository.set_availability(session, member, data.availability.value, now())
        await repository.bump_config_version(session, member.brand_id)
    return member


def encode_member_cursor(member: Member) -> str:
    raw = f"{member.created_at.isoformat()}|{member.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_member_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, member_id = raw.split("|", 1)
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, member_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UnprocessableError("the cursor is not one this list gave", field="cursor") from None


async def member_filters_department(
    session: AsyncSession, principal: Principal, brand_id: str | None, department: str | None
) -> str | None:
    """The id of the `department` filter (a key of `brand_id`); 422 without a brand, 404 for
    a department the brand lacks or the key may not see."""
    if department is None:
        return None
    if not brand_id:
        raise UnprocessableError(
            "filtering by department needs brand_id",
            field="brand_id",
            detail_es=("para filtrar por departamento hace falta brand_id"),
        )
    found = await repository.departments_by_key(session, brand_id, [department])
    if (
        department not in found
        or not principal.allows_brand(brand_id)
        or not principal.may_see_department(department)
    ):
        raise department_not_found(brand_id, department)
    return found[department].id


async def list_members(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    department: str | None,
    role: Role | None,
    availability: Availability | None,
    limit: int,
    cursor: str | None,
) -> MemberPage:
    """A page of the members the key may see, oldest first, and how many match in all."""
    after = decode_member_cursor(cursor)
    filters = {
        "brand_id": brand_id,
        "department_id": await member_filters_department(session, principal, brand_id, department),
        "role": role.value if role else None,
        "availability": availability.value if availability else None,
    }
    rows = await repository.list_members(
        session, principal, limit=fetch_size(limit), after=after, **filters
    )
    total = await repository.count_members(session, principal, **filters)
    reads = {read.id: read for read in await members_read(session, rows[:limit])}
    page = MemberPage.from_rows(
        rows, limit, item=lambda row: reads[row.id], cursor=encode_member_cursor
    )
    page.total = total
    return page


# ------------------------------------------------------------------- accounts and grants


def account_read(account: Account) -> AccountRead:
    return AccountRead.model_validate(account, from_attributes=True)


def _account_missing(account_id: str) -> AppError:
    return AccountNotFoundError(
        f"no account with id {account_id}",
        f"no existe ninguna cuenta con id {account_id}",
        field="account_id",
    )


async def get_account(session: AsyncSession, account_id: str, principal: Principal) -> Account:
    account = await repository.get_account(session, account_id)
    missing = _account_missing(account_id)
    if account is None:
        raise missing
    ensure_brand_visible(principal, account.brand_id, missing)
    return account


async def create_account(
    session: AsyncSession, principal: Principal, data: AccountCreate
) -> Account:
    ensure_brand_writable(principal, data.brand_id)
    ensure_every_department(principal, "adding a social account")
    existing = await repository.account_with_external_id(
        session, data.brand_id, data.channel.value, data.external_account_id
    )
    if existing is not None:
        raise DuplicateError(
            f"brand {data.brand_id} already has the {data.channel.value} account "
            f"{data.external_account_id} (id {existing})",
            f"la marca {data.brand_id} ya tiene la cuenta {data.external_account_id} de "
            f"{data.channel.value} (id {existing})",
            field="external_account_id",
            existing_id=existing,
        )
    at = now()
    account = Account(
        id=new_id(),
        brand_id=data.brand_id,
        platform=data.platform,
        channel=data.channel.value,
        external_account_id=data.external_account_id,
        connection_id=data.connection_id,
        name=data.name,
        enabled=data.enabled,
        created_at=at,
        updated_at=at,
    )
    repository.add(session, account)
    await session.flush()
    await repository.bump_config_version(session, data.brand_id)
    return account


async def update_account(
    session: AsyncSession, principal: Principal, account: Account, data: AccountUpdate
) -> Account:
    ensure_every_department(principal, "changing a social account")
    if data.name is not None:
        account.name = data.name
    if "connection_id" in data.model_fields_set:
        account.connection_id = data.connection_id
    if data.enabled is not None:
        account.enabled = data.enabled
    account.updated_at = now()
    await session.flush()
    await repository.bump_config_version(session, account.brand_id)
    return account


async def delete_account(session: AsyncSession, principal: Principal, account: Account) -> None:
    ensure_every_department(principal, "deleting a social account")
    brand_id = account.brand_id
    await repository.delete_account(session, account)
    await session.flush()
    await repository.bump_config_version(session, brand_id)


def grant_read(grant: AccessGrant, member_name: str) -> GrantRead:
    return GrantRead(
        account_id=grant.account_id,
        member_id=grant.member_id,
        member_name=member_name,
        can_read=grant.can_read,
        can_reply=grant.can_reply,
        updated_at=grant.updated_at,
    )


async def list_grants(
    session: AsyncSession, account: Account, principal: Principal
) -> list[GrantRead]:
    rows = await repository.list_grants(session, account.id, principal)
    return [grant_read(grant, name) for grant, name in rows]


async def put_grant(
    session: AsyncSession,
    principal: Principal,
    account: Account,
    member_id: str,
    data: GrantUpdate,
) -> GrantRead:
    member = await get_member(session, member_id, principal)
    if member.brand_id != account.brand_id:
        raise _member_missing(member_id)
    grant = await repository.get_grant(session, account.id, member.id)
    at = now()
    if grant is None:
        grant = AccessGrant(
            member_id=member.id,
            account_id=account.id,
            can_read=data.can_read or data.can_reply,
            can_reply=data.can_reply,
            created_at=at,
            updated_at=at,
        )
        repository.add(session, grant)
    else:
        grant.can_read = data.can_read or data.can_reply
        grant.can_reply = data.can_reply
        grant.updated_at = at
    await session.flush()
    await repository.bump_config_version(session, account.brand_id)
    return grant_read(grant, member.name)


async def delete_grant(
    session: AsyncSession, principal: Principal, account: Account, member_id: str
) -> None:
    member = await get_member(session, member_id, principal)
    grant = await repository.get_grant(session, account.id, member.id)
    if grant is None:
        raise GrantNotFoundError(
            f"member {member_id} has no grant on account {account.id}",
            f"el miembro {member_id} no tiene permiso sobre la cuenta {account.id}",
            field="member_id",
        )
    await repository.delete_grant(session, grant)
    await session.flush()
    await repository.bump_config_version(session, account.brand_id)


# ----------------------------------------------------------------------- responsibilities


def _brand_missing(brand_id: str) -> AppError:
    from shared.errors import NotFoundError

    return NotFoundError(
        f"no brand {brand_id}", detail_es=f"no existe la marca {brand_id}", field="brand_id"
    )


async def responsibilities(
    session: AsyncSession, principal: Principal, brand_id: str
) -> ResponsibilitiesRead:
    """Who owns what, in one answer: each intent, its department and the department's members
    (those the key may see)."""
    ensure_brand_visible(principal, brand_id, _brand_missing(brand_id))
    await ensure_brand(session, brand_id)
    rows = {row.intent: row for row in await repository.list_responsibilities(session, brand_id)}
    departments = {d.id: d for d in await repository.list_departments(session, brand_id)}
    members: dict[str, list[MemberBrief]] = {}
    for department_id, member in await repository.members_of_departments(
        session, list(departments), principal
    ):
        members.setdefault(department_id, []).append(
            MemberBrief(
                id=member.id,
                name=member.name,
                role=Role(member.role),
                availability=member.availability,
                languages=member.languages,
            )
        )
    items = []
    for intent in Intent:
        row = rows.get(intent.value)
        department = departments.get(row.department_id) if row and row.department_id else None
        items.append(
            ResponsibilityRead(
                intent=intent,
                department=OwnerRead(
                    key=department.key,
                    name_es=department.name_es,
                    name_en=department.name_en,
                    enabled=department.enabled,
                )
                if department
                else None,
                members=members.get(department.id, []) if department else [],
            )
        )
    return ResponsibilitiesRead(brand_id=brand_id, items=items)


async def update_responsibilities(
    session: AsyncSession, principal: Principal, data: ResponsibilitiesUpdate
) -> None:
    ensure_brand_writable(principal, data.brand_id)
    ensure_every_department(principal, "changing the responsibilities matrix")
    await ensure_brand(session, data.brand_id)
    keys = [key for key in data.responsibilities.values() if key is not None]
    found = await repository.departments_by_key(session, data.brand_id, keys)
    at = now()
    for intent, key in data.responsibilities.items():
        if key is not None and key not in found:
            raise department_not_found(data.brand_id, key, f"responsibilities.{intent.value}")
        await repository.set_responsibility(
            session, data.brand_id, intent.value, found[key].id if key else None, at
        )
    await repository.bump_config_version(session, data.brand_id)


# ---------------------------------------------------------------------------- SLA policies


def sla_policy_read(policy: SlaPolicy, department_key: str) -> SlaPolicyRead:
    return SlaPolicyRead(
        id=policy.id,
        brand_id=policy.brand_id,
        department=department_key,
        priority=policy.priority,
        first_response_seconds=policy.first_response_seconds,
        next_response_seconds=policy.next_response_seconds,
        resolution_seconds=policy.resolution_seconds,
        business_hours=policy.business_hours,
        reassign_after_minutes=policy.reassign_after_minutes,
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )


def _no_target(first: int | None, following: int | None, resolution: int | None) -> None:
    if first is None and following is None and resolution is None:
        raise InvalidSettingError(
            "an SLA policy needs at least one target",
            "una política de SLA necesita al menos un objetivo",
            field="first_response_seconds",
        )


async def create_sla_policy(
    session: AsyncSession, principal: Principal, data: SlaPolicyCreate
) -> tuple[SlaPolicy, str]:
    ensure_brand_writable(principal, data.brand_id)
    await ensure_brand(session, data.brand_id)
    (department,) = await resolve_departments(
        session, principal, data.brand_id, [data.department], field="department"
    )
    _no_target(data.first_response_seconds, data.next_response_seconds, data.resolution_seconds)
    if await repository.sla_policy_exists(
        session, data.brand_id, department.id, data.priority.value
    ):
        raise DuplicateError(
            f"department {data.department} already has a {data.priority.value} SLA policy",
            f"el departamento {data.department} ya tiene una política de SLA {data.priority.value}",
            field="priority",
        )
    at = now()
    policy = SlaPolicy(
        id=new_id(),
        brand_id=data.brand_id,
        department_id=department.id,
        priority=data.priority.value,
        first_response_seconds=data.first_response_seconds,
        next_response_seconds=data.next_response_seconds,
        resolution_seconds=data.resolution_seconds,
        business_hours=data.business_hours,
        reassign_after_minutes=data.reassign_after_minutes,
        created_at=at,
        updated_at=at,
    )
    repository.add(session, policy)
    await session.flush()
    await repository.bump_config_version(session, data.brand_id)
    return policy, department.key


async def get_sla_policy(
    session: AsyncSession, policy_id: str, principal: Principal
) -> tuple[SlaPolicy, str]:
    missing = SlaPolicyNotFoundError(
        f"no SLA policy with id {policy_id}",
        f"no existe ninguna política de SLA con id {policy_id}",
        field="policy_id",
    )
    policy = await repository.get_sla_policy(session, policy_id)
    if policy is None:
        raise missing
    ensure_brand_visible(principal, policy.brand_id, missing)
    department = await repository.get_department(session, policy.department_id)
    if department is None or not principal.may_see_department(department.key):
        raise missing
    return policy, department.key


async def update_sla_policy(
    session: AsyncSession, policy: SlaPolicy, data: SlaPolicyUpdate
) -> SlaPolicy:
    fields = data.model_fields_set
    targets = ("first_response_seconds", "next_response_seconds", "resolution_seconds")
    for name in (*targets, "reassign_after_minutes"):
        if name in fields:
            setattr(policy, name, getattr(data, name))
    if data.business_hours is not None:
        policy.business_hours = data.business_hours
    _no_target(
        policy.first_response_seconds, policy.next_response_seconds, policy.resolution_seconds
    )
    policy.updated_at = now()
    await session.flush()
    await repository.bump_config_version(session, policy.brand_id)
    return policy


async def delete_sla_policy(session: AsyncSession, policy: SlaPolicy) -> None:
    brand_id = policy.brand_id
    await repository.delete_sla_policy(session, policy)
    await session.flush()
    await repository.bump_config_version(session, brand_id)
