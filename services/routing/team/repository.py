"""Every query of the team's configuration: departments, members, accounts, grants,
responsibilities, SLA policies, and the per-brand configuration version."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import (
    AccessGrant,
    Account,
    ConfigVersion,
    Department,
    Member,
    MemberDepartment,
    Responsibility,
    SlaPolicy,
)
from shared.auth import Principal, brand_condition

HR = "hr"


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return sqlite.insert if dialect == "sqlite" else postgresql.insert


# ------------------------------------------------------------------- visibility clauses


def department_condition(
    column: SQLColumnExpression[str] | SQLColumnExpression[str | None], principal: Principal
) -> ColumnElement[bool]:
    """The departments (by key column) the key may see: `Principal.may_see_department` in SQL
    (HR only for keys limited to HR, and admins)."""
    if principal.is_admin:
        return true()
    if principal.departments is None:
        return column != HR
    if not principal.departments:
        return false()
    return column.in_(sorted(principal.departments))


def _member_in(keys: Iterable[str]) -> ColumnElement[bool]:
    return exists(
        select(MemberDepartment.member_id)
        .join(Department, Department.id == MemberDepartment.department_id)
        .where(MemberDepartment.member_id == Member.id, Department.key.in_(sorted(keys)))
    )


def member_condition(principal: Principal) -> ColumnElement[bool]:
    """The members the key may see: those in one of its departments, and HR's members only for
    keys that may see HR (a member of HR and another department stays hidden from others)."""
    clause = brand_condition(Member.brand_id, principal.brands)
    if principal.is_admin:
        return clause
    if principal.departments is None:
        return and_(clause, ~_member_in([HR]))
    visible = _member_in(principal.departments)
    if HR not in principal.departments:
        visible = and_(visible, ~_member_in([HR]))
    return and_(clause, visible)


# ------------------------------------------------------------------------- config version


async def bump_config_version(session: AsyncSession, brand_id: str) -> None:
    """+1 on the brand's configuration version, in the caller's transaction."""
    statement = _insert(session)(ConfigVersion).values(brand_id=brand_id, version=1)
    statement = statement.on_conflict_do_update(
        index_elements=[ConfigVersion.brand_id],
        set_={"version": ConfigVersion.version + 1, "updated_at": func.now()},
    )
    await session.execute(statement)


async def config_version(session: AsyncSession, brand_id: str) -> int:
    version = await session.scalar(
        select(ConfigVersion.version).where(ConfigVersion.brand_id == brand_id)
    )
    return int(version or 0)


# ---------------------------------------------------------------------------- departments


async def insert_missing_departments(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the departments whose (brand, key) is absent; concurrent callers never clash."""
    if not rows:
        return 0
    statement = _insert(session)(Department).values(rows)
    statement = statement.on_conflict_do_nothing(
        index_elements=[Department.brand_id, Department.key]
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def insert_missing_responsibilities(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> None:
    if not rows:
        return
    statement = _insert(session)(Responsibility).values(rows)
    statement = statement.on_conflict_do_nothing(
        index_elements=[Responsibility.brand_id, Responsibility.intent]
    )
    await session.execute(statement)


async def has_departments(session: AsyncSession, brand_id: str) -> bool:
    found = await session.scalar(
        select(Department.id).where(Department.brand_id == brand_id).limit(1)
    )
    return found is not None


async def list_departments(
    session: AsyncSession, brand_id: str, principal: Principal | None = None
) -> list[Department]:
    query = select(Department).where(Department.brand_id == brand_id).order_by(Department.key)
    if principal is not None:
        query = query.where(department_condition(Department.key, principal))
    return list((await session.scalars(query)).all())


async def get_department(session: AsyncSession, department_id: str) -> Department | None:
    return await session.get(Department, department_id)


async def departments_by_key(
    session: AsyncSession, brand_id: str, keys: Iterable[str]
) -> dict[str, Department]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Department).where(Department.brand_id == brand_id, Department.key.in_(wanted))
    )
    return {row.key: row for row in rows}


async def member_counts(
    session: AsyncSession, department_ids: Sequence[str], principal: Principal
) -> dict[str, int]:
    """Members per department, counting only members the key may see."""
    if not department_ids:
        return {}
    rows = await session.execute(
        select(MemberDepartment.department_id, func.count())
        .join(Member, Member.id == MemberDepartment.member_id)
        .where(MemberDepartment.department_id.in_(department_ids), member_condition(principal))
        .group_by(MemberDepartment.department_id)
    )
    return {department_id: int(count) for department_id, count in rows.all()}


def add(session: AsyncSession, row: Any) -> None:
    session.add(row)


# -------------------------------------------------------------------------------- members


def _member_filters(
    principal: Principal,
    *,
    brand_id: str | None,
    department_id: str | None,
    role: str | None,
    availability: str | None,
) -> list[ColumnElement[bool]]:
    clauses = [member_condition(principal)]
    if brand_id:
        clauses.append(Member.brand_id == brand_id)
    if department_id:
        clauses.append(
            exists(
                select(MemberDepartment.member_id).where(
                    MemberDepartment.member_id == Member.id,
                    MemberDepartment.department_id == department_id,
                )
            )
        )
    if role:
        clauses.append(Member.role == role)
    if availability:
        clauses.append(Member.availability == availability)
    return clauses


async def list_members(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    department_id: str | None,
    role: str | None,
    availability: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Member]:
    query = (
        select(Member)
        .where(
            *_member_filters(
                principal,
                brand_id=brand_id,
                department_id=department_id,
                role=role,
                availability=availability,
            )
        )
        .order_by(Member.created_at, Member.id)
        .limit(limit)
    )
    if after is not None:
        created_at, member_id = after
        query = query.where(
            or_(
                Member.created_at > created_at,
                and_(Member.created_at == created_at, Member.id > member_id),
            )
        )
    return list((await session.scalars(query)).all())


async def count_members(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    department_id: str | None,
    role: str | None,
    availability: str | None,
) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            *_member_filters(
                principal,
                brand_id=brand_id,
                department_id=department_id,
                role=role,
                availability=availability,
            )
        )
    )
    return int(total or 0)


async def get_member(session: AsyncSession, member_id: str) -> Member | None:
    return await session.get(Member, member_id)


async def member_visible(session: AsyncSession, member_id: str, principal: Principal) -> bool:
    found = await session.scalar(
        select(Member.id).where(Member.id == member_id, member_condition(principal))
    )
    return found is not None


async def visible_member_ids(
    session: AsyncSession, member_ids: Sequence[str], principal: Principal
) -> set[str]:
    if not member_ids:
        return set()
    rows = await session.scalars(
        select(Member.id).where(Member.id.in_(member_ids), member_condition(principal))
    )
    return set(rows.all())


async def member_with_email(session: AsyncSession, brand_id: str, email: str) -> str | None:
    return await session.scalar(
        select(Member.id).where(Member.brand_id == brand_id, Member.email == email)
    )


async def department_keys_of(
    session: AsyncSession, member_ids: Sequence[str]
) -> dict[str, list[str]]:
    """The department keys of each member, sorted."""
    if not member_ids:
        return {}
    rows = await session.execute(
        select(MemberDepartment.member_id, Department.key)
        .join(Department, Department.id == MemberDepartment.department_id)
        .where(MemberDepartment.member_id.in_(member_ids))
        .order_by(Department.key)
    )
    found: dict[str, list[str]] = {member_id: [] for member_id in member_ids}
    for member_id, key in rows.all():
        found[member_id].append(key)
    return found


async def set_member_departments(
    session: AsyncSession, member_id: str, department_ids: Iterable[str]
) -> None:
    await session.execute(delete(MemberDepartment).where(MemberDepartment.member_id == member_id))
    session.add_all(
        MemberDepartment(member_id=member_id, department_id=department_id)
        for department_id in sorted(set(department_ids))
    )


async def delete_member(session: AsyncSession, member: Member) -> None:
    await session.execute(delete(AccessGrant).where(AccessGrant.member_id == member.id))
    await session.execute(delete(MemberDepartment).where(MemberDepartment.member_id == member.id))
    await session.delete(member)


async def members_of_departments(
    session: AsyncSession, department_ids: Sequence[str], principal: Principal
) -> list[tuple[str, Member]]:
    """(department id, member) for every visible member of the departments, by name."""
    if not department_ids:
        return []
    rows = await session.execute(
        select(MemberDepartment.department_id, Member)
        .join(Member, Member.id == MemberDepartment.member_id)
        .where(MemberDepartment.department_id.in_(department_ids), member_condition(principal))
        .order_by(Member.name, Member.id)
    )
    return [(department_id, member) for department_id, member in rows.all()]


async def brand_members(session: AsyncSession, brand_id: str) -> list[Member]:
    rows = await session.scalars(
        select(Member).where(Member.brand_id == brand_id).order_by(Member.id)
    )
    return list(rows.all())


async def member_departments_of_brand(
    session: AsyncSession, brand_id: str
) -> list[tuple[str, str]]:
    """(member id, department key) pairs of the brand."""
    rows = await session.execute(
        select(MemberDepartment.member_id, Department.key)
        .join(Department, Department.id == MemberDepartment.department_id)
        .where(Department.brand_id == brand_id)
    )
    return [(member_id, key) for member_id, key in rows.all()]


async def member_loads(
    session: AsyncSession, member_ids: Sequence[str]
) -> dict[str, tuple[int, datetime | None, str]]:
    """What changes between configuration versions: open cases, last assignment, availability."""
    if not member_ids:
        return {}
    rows = await session.execute(
        select(Member.id, Member.open_cases, Member.last_assigned_at, Member.availability).where(
            Member.id.in_(member_ids)
        )
    )
    return {
        member_id: (open_cases, last_assigned_at, availability)
        for member_id, open_cases, last_assigned_at, availability in rows.all()
    }


async def set_availability(
    session: AsyncSession, member: Member, availability: str, now: datetime
) -> None:
    await session.execute(
        update(Member)
        .where(Member.id == member.id)
        .values(availability=availability, availability_changed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    member.availability = availability
    member.availability_changed_at = now
    member.updated_at = now


# ------------------------------------------------------------------- accounts and grants


async def list_accounts(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    channel: str | None,
    limit: int,
    after_id: str | None,
) -> list[Account]:
    query = (
        select(Account)
        .where(brand_condition(Account.brand_id, principal.brands))
        .order_by(Account.id)
        .limit(limit)
    )
    if brand_id:
        query = query.where(Account.brand_id == brand_id)
    if channel:
        query = query.where(Account.channel == channel)
    if after_id:
        query = query.where(Account.id > after_id)
    return list((await session.scalars(query)).all())


async def get_account(session: AsyncSession, account_id: str) -> Account | None:
    return await session.get(Account, account_id)


async def account_with_external_id(
    session: AsyncSession, brand_id: str, channel: str, external_account_id: str
) -> str | None:
    return await session.scalar(
        select(Account.id).where(
            Account.brand_id == brand_id,
            Account.channel == channel,
            Account.external_account_id == external_account_id,
        )
    )


async def delete_account(session: AsyncSession, account: Account) -> None:
    await session.execute(delete(AccessGrant).where(AccessGrant.account_id == account.id))
    await session.delete(account)


async def brand_accounts(session: AsyncSession, brand_id: str) -> list[Account]:
    rows = await session.scalars(
        select(Account).where(Account.brand_id == brand_id).order_by(Account.id)
    )
    return list(rows.all())


async def list_grants(
    session: AsyncSession, account_id: str, principal: Principal
) -> list[tuple[AccessGrant, str]]:
    """The account's grants of members the key may see, with each member's name."""
    rows = await session.execute(
        select(AccessGrant, Member.name)
        .join(Member, Member.id == AccessGrant.member_id)
        .where(AccessGrant.account_id == account_id, member_condition(principal))
        .order_by(Member.name, Member.id)
    )
    return [(grant, name) for grant, name in rows.all()]


async def get_grant(session: AsyncSession, account_id: str, member_id: str) -> AccessGrant | None:
    return await session.get(AccessGrant, (member_id, account_id))


async def delete_grant(session: AsyncSession, grant: AccessGrant) -> None:
    await session.delete(grant)


async def brand_grants(session: AsyncSession, brand_id: str) -> list[AccessGrant]:
    rows = await session.scalars(
        select(AccessGrant)
        .join(Account, Account.id == AccessGrant.account_id)
        .where(Account.brand_id == brand_id, Account.enabled.is_(True))
    )
    return list(rows.all())


# ----------------------------------------------------------------------- responsibilities


async def list_responsibilities(session: AsyncSession, brand_id: str) -> list[Responsibility]:
    rows = await session.scalars(
        select(Responsibility)
        .where(Responsibility.brand_id == brand_id)
        .order_by(Responsibility.intent)
    )
    return list(rows.all())


async def set_responsibility(
    session: AsyncSession, brand_id: str, intent: str, department_id: str | None, now: datetime
) -> None:
    statement = _insert(session)(Responsibility).values(
        brand_id=brand_id, intent=intent, department_id=department_id, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Responsibility.brand_id, Responsibility.intent],
        set_={"department_id": department_id, "updated_at": now},
    )
    await session.execute(statement)


# ---------------------------------------------------------------------------- SLA policies


async def list_sla_policies(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    department_id: str | None,
    limit: int,
    after_id: str | None,
) -> list[tuple[SlaPolicy, str]]:
    query = (
        select(SlaPolicy, Department.key)
        .join(Department, Department.id == SlaPolicy.department_id)
        .where(
            brand_condition(SlaPolicy.brand_id, principal.brands),
            department_condition(Department.key, principal),
        )
        .order_by(SlaPolicy.id)
        .limit(limit)
    )
    if brand_id:
        query = query.where(SlaPolicy.brand_id == brand_id)
    if department_id:
        query = query.where(SlaPolicy.department_id == department_id)
    if after_id:
        query = query.where(SlaPolicy.id > after_id)
    return [(policy, key) for policy, key in (await session.execute(query)).all()]


async def get_sla_policy(session: AsyncSession, policy_id: str) -> SlaPolicy | None:
    return await session.get(SlaPolicy, policy_id)


async def sla_policy_exists(
    session: AsyncSession, brand_id: str, department_id: str, priority: str
) -> bool:
    found = await session.scalar(
        select(SlaPolicy.id).where(
            SlaPolicy.brand_id == brand_id,
            SlaPolicy.department_id == department_id,
            SlaPolicy.priority == priority,
        )
    )
    return found is not None


async def delete_sla_policy(session: AsyncSession, policy: SlaPolicy) -> None:
    await session.delete(policy)


async def brand_sla_policies(session: AsyncSession, brand_id: str) -> list[tuple[SlaPolicy, str]]:
    rows = await session.execute(
        select(SlaPolicy, Department.key)
        .join(Department, Department.id == SlaPolicy.department_id)
        .where(SlaPolicy.brand_id == brand_id)
    )
    return [(policy, key) for policy, key in rows.all()]
