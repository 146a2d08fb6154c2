"""Every query of cases, their messages, history, notes and the assignment queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy import case as case_when
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from services.routing.cases.models import (
    ACTIVE_STATUSES,
    Case,
    CaseHistory,
    CaseMessage,
    CaseNote,
    NewCase,
    QueuedCase,
)
from services.routing.models import AccessGrant, Department, Member, MemberDepartment, SlaPolicy
from shared import bulk

# --------------------------------------------------------------------------- intake


# A poll's lookups (its threads' cases, its interactions' messages) on PostgreSQL: a connection
# plans a prepared statement for its first five executions, then keeps one generic plan, made
# at the table size of that moment, until autovacuum next analyzes the table. By `IN ($1 ..
# $500)` that plan was a sequential scan comparing every row with all 500 values, kept while
# the table grew (bench/routing.py: 54 to 205 ms per poll at 20,000 cases). The keys go in as
# one array and are looked up one at a time (a LATERAL subquery with its LIMIT is planned per
# key), so the plan is an index lookup per key whatever the statistics say
# (tests/routing/test_cases_lookup_plan.py).


def _postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _newest_per_key(
    entity: type[Any], column: Any, values: Sequence[str], *order: ColumnElement[Any]
) -> Select[Any]:
    """PostgreSQL: for each of `values`, the first row of `entity` whose `column` equals it in
    `order`."""
    array = bindparam(None, list(dict.fromkeys(values)), type_=postgresql.ARRAY(String))
    keys = select(func.unnest(array).label("key")).subquery("keys")
    row = select(entity).where(column == keys.c.key).order_by(*order).limit(1).lateral("row")
    return select(aliased(entity, row)).select_from(keys).join(row, true())


async def messages_by_interaction(
    session: AsyncSession, interaction_ids: Sequence[str]
) -> dict[str, CaseMessage]:
    if not interaction_ids:
        return {}
    if _postgresql(session):
        query = _newest_per_key(CaseMessage, CaseMessage.interaction_id, interaction_ids)
    else:
        query = select(CaseMessage).where(
            CaseMessage.interaction_id.in_(list(set(interaction_ids)))
        )
    rows = await session.scalars(query)
    return {row.interaction_id: row for row in rows if row.interaction_id is not None}


async def latest_cases(session: AsyncSession, thread_keys: Sequence[str]) -> dict[str, Case]:
    """The newest case of each thread (its active one when it has one)."""
    if not thread_keys:
        return {}
    if _postgresql(session):
        query = _newest_per_key(
            Case,
            Case.thread_key,
            thread_keys,
            case_when((Case.status.in_(ACTIVE_STATUSES), 1), else_=0).desc(),
            Case.opened_at.desc(),
            Case.id.desc(),
        )
    else:
        query = select(Case).where(Case.thread_key.in_(list(set(thread_keys))))
    found: dict[str, Case] = {}
    for case in (await session.scalars(query)).all():
        current = found.get(case.thread_key)
        if current is None or _newer(case, current):
            found[case.thread_key] = case
    return found


def _newer(case: Case, other: Case) -> bool:
    active, other_active = case.status in ACTIVE_STATUSES, other.status in ACTIVE_STATUSES
    if active != other_active:
        return active
    return (case.opened_at, case.id) > (other.opened_at, other.id)


async def cases_by_id(session: AsyncSession, case_ids: Sequence[str]) -> dict[str, Case]:
    if not case_ids:
        return {}
    rows = await session.scalars(select(Case).where(Case.id.in_(list(set(case_ids)))))
    return {case.id: case for case in rows}


def _upsert(session: AsyncSession, model: type[Any] | Table) -> Any:
    """INSERT ... ON CONFLICT of the session's dialect."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(model)
    return postgresql.insert(model)


# Every column of a new case but `updated_at`, which the database fills in.
NEW_CASE_COLUMNS = tuple(
    column.key for column in Case.__table__.columns if column.key != "updated_at"
)
_CASES = cast(Table, Case.__table__)
_MESSAGES = cast(Table, CaseMessage.__table__)
_HISTORY = cast(Table, CaseHistory.__table__)


_NEW_CASE_VALUES = attrgetter(*NEW_CASE_COLUMNS)
MESSAGE_COLUMNS = tuple(column.key for column in _MESSAGES.columns)
_MESSAGE_VALUES = itemgetter(*MESSAGE_COLUMNS)
HISTORY_COLUMNS = ("case_id", "at", "actor", "action", "changes", "note")
_HISTORY_VALUES = itemgetter(*HISTORY_COLUMNS)


async def insert_cases(session: AsyncSession, cases: Sequence[NewCase]) -> None:
    """New cases in one go (shared/bulk.py: a COPY on PostgreSQL): their rows go in as they are
    after the poll, assignee included, so no second write follows. A thread whose active case
    another consumer has just opened fails the partial unique index and the poll is retried
    (and then finds that case)."""
    for start in range(0, len(cases), 250):  # slices: the event loop runs between them
        rows = [_NEW_CASE_VALUES(case) for case in cases[start : start + 250]]
        await bulk.copy_rows(session, _CASES, NEW_CASE_COLUMNS, rows)


async def defer_case_checks(session: AsyncSession) -> bool:
    """Have this transaction check the case ids of its history rows and messages at its
    commit, not row by row, so they may go in before their new cases (PostgreSQL; False
    elsewhere: nothing changes). `ALL` covers the schema's deferrable constraints, which are
    those two foreign keys."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    await session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
    return True


async def insert_history(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """History rows (dicts of HISTORY_COLUMNS) in one go, numbered in their order."""
    values = [_HISTORY_VALUES(row) for row in rows]
    await bulk.copy_rows(session, _HISTORY, HISTORY_COLUMNS, values)


async def update_message_texts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Messages this transaction inserted, then edited (by `interaction_id`): their text and
    `edited_at` as in `rows`."""
    if not rows:
        return
    await session.execute(
        update(_MESSAGES)
        .where(_MESSAGES.c.interaction_id == bindparam("row_interaction_id"))
        .values(text=bindparam("row_text"), edited_at=bindparam("row_edited_at")),
        [
            {
                "row_interaction_id": row["interaction_id"],
                "row_text": row["text"],
                "row_edited_at": row["edited_at"],
            }
            for row in rows
        ],
    )


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New messages (dicts of every column) in one go. The intake looked up the poll's
    interactions first, so a message already stored is not among them; should another
    consumer store one at the same moment (a rebalance), its unique interaction id fails the
    poll, which is retried and then finds it, as for cases."""
    values = [_MESSAGE_VALUES(row) for row in rows]
    await bulk.copy_rows(session, _MESSAGES, MESSAGE_COLUMNS, values)


# --------------------------------------------------------------------------- members


async def lock_members(
    session: AsyncSession, brand_id: str, department_keys: Sequence[str]
) -> list[tuple[Member, list[str], list[str]]]:
    """The brand's members in `department_keys`, locked (in id order, so two transactions never
    wait on each other in a cycle) with their department keys and granted account ids.

    The lock is what keeps `open_cases` under `capacity`: every transaction that assigns reads
    the count under it and writes it before commit."""
    if not department_keys:
        return []
    member_ids = (
        select(MemberDepartment.member_id)
        .join(Department, Department.id == MemberDepartment.department_id)
        .where(Department.brand_id == brand_id, Department.key.in_(list(set(department_keys))))
    )
    members = list(
        (
            await session.scalars(
                select(Member)
                .where(Member.brand_id == brand_id, Member.id.in_(member_ids))
                .order_by(Member.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    return await _with_departments_and_grants(session, members)


async def lock_member(
    session: AsyncSession, brand_id: str, member_id: str
) -> tuple[Member, list[str], list[str]] | None:
    member = (
        await session.scalars(
            select(Member)
            .where(Member.brand_id == brand_id, Member.id == member_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if member is None:
        return None
    return (await _with_departments_and_grants(session, [member]))[0]


async def _with_departments_and_grants(
    session: AsyncSession, members: list[Member]
) -> list[tuple[Member, list[str], list[str]]]:
    if not members:
        return []
    ids = [member.id for member in members]
    departments: dict[str, list[str]] = {member_id: [] for member_id in ids}
    for member_id, key in await session.execute(
        select(MemberDepartment.member_id, Department.key)
        .join(Department, Department.id == MemberDepartment.department_id)
        .where(MemberDepartment.member_id.in_(ids), Department.enabled.is_(True))
    ):
        departments[member_id].append(key)
    grants: dict[str, list[str]] = {member_id: [] for member_id in ids}
    for member_id, account_id in await session.execute(
        select(AccessGrant.member_id, AccessGrant.account_id).where(
            AccessGrant.member_id.in_(ids), AccessGrant.can_reply.is_(True)
        )
    ):
        grants[member_id].append(account_id)
    return [(member, departments[member.id], grants[member.id]) for member in members]


async def set_member_loads(
    session: AsyncSession, loads: dict[str, tuple[int, datetime | None]]
) -> None:
    """Write the counts computed under the members' locks (one statement for those with a
    new last assignment, one for the others)."""
    stamped = [
        {"member_id": member_id, "loads": open_cases, "stamp": last_assigned_at}
        for member_id, (open_cases, last_assigned_at) in loads.items()
        if last_assigned_at is not None
    ]
    counted = [
        {"member_id": member_id, "loads": open_cases}
        for member_id, (open_cases, last_assigned_at) in loads.items()
        if last_assigned_at is None
    ]
    members = cast(Table, Member.__table__)
    by_id = members.c.id == bindparam("member_id")
    if stamped:
        await session.execute(
            update(members)
            .where(by_id)
            .values(open_cases=bindparam("loads"), last_assigned_at=bindparam("stamp")),
            stamped,
        )
    if counted:
        await session.execute(
            update(members).where(by_id).values(open_cases=bindparam("loads")), counted
        )
    # The statements above bypass the session: members it holds learn their new counts too.
    for member_id, (open_cases, last_assigned_at) in loads.items():
        member = session.identity_map.get(identity_key(Member, member_id))
        if member is not None:
            set_committed_value(member, "open_cases", open_cases)
            if last_assigned_at is not None:
                set_committed_value(member, "last_assigned_at", last_assigned_at)


async def release_member(session: AsyncSession, member_id: str) -> None:
    """One open case fewer (a case resolved, closed, reassigned or transferred away)."""
    await session.execute(
        update(Member)
        .where(Member.id == member_id, Member.open_cases > 0)
        .values(open_cases=Member.open_cases - 1)
    )


async def get_member(session: AsyncSession, brand_id: str, member_id: str) -> Member | None:
    member: Member | None = await session.scalar(
        select(Member).where(Member.brand_id == brand_id, Member.id == member_id)
    )
    return member


async def department_exists(session: AsyncSession, brand_id: str, key: str) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Department.brand_id == brand_id,
                    Department.key == key,
                    Department.enabled.is_(True),
                )
            )
        )
    )


async def absent_assignees(session: AsyncSession, limit: int = 200) -> list[tuple[str, str]]:
    """(brand, member) of members away or offline who still hold active cases."""
    rows = await session.execute(
        select(Member.brand_id, Member.id)
        .where(
            Member.availability != "available",
            exists().where(Case.assignee_id == Member.id, Case.status.in_(ACTIVE_STATUSES)),
        )
        .order_by(Member.id)
        .limit(limit)
    )
    return [(brand_id, member_id) for brand_id, member_id in rows]


async def active_cases_of(session: AsyncSession, member_id: str) -> list[Case]:
    return list(
        (
            await session.scalars(
                select(Case)
                .where(Case.assignee_id == member_id, Case.status.in_(ACTIVE_STATUSES))
                .order_by(Case.id)
                .with_for_update()
            )
        ).all()
    )


async def idle_assignments(
    session: AsyncSession, now: datetime, limit: int = 200
) -> list[tuple[str, str]]:
    """(brand, case) of open cases whose assignee has not acted (no reply since they got it)
    within their SLA policy's `reassign_after_minutes`, not already tried since then."""
    query = (
        select(Case.brand_id, Case.id, Case.assigned_at, SlaPolicy.reassign_after_minutes)
        .join(SlaPolicy, SlaPolicy.id == Case.sla_policy_id)
        .where(
            SlaPolicy.reassign_after_minutes.is_not(None),
            Case.status == "open",
            Case.assignee_id.is_not(None),
            Case.assigned_at.is_not(None),
            or_(Case.last_response_at.is_(None), Case.last_response_at < Case.assigned_at),
            or_(
                Case.reassign_attempted_at.is_(None),
                Case.reassign_attempted_at < Case.assigned_at,
            ),
        )
        .order_by(Case.assigned_at, Case.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        interval = func.make_interval(0, 0, 0, 0, 0, SlaPolicy.reassign_after_minutes)
        query = query.where(Case.assigned_at + interval <= now)
    rows = await session.execute(query)
    # SQLite (local mode, small tables) has no interval type: the cut-off is checked here.
    return [
        (brand_id, case_id)
        for brand_id, case_id, assigned_at, minutes in rows
        if assigned_at is not None
        and minutes is not None
        and assigned_at + timedelta(minutes=minutes) <= now
    ]


async def reassign_minutes(session: AsyncSession, policy_id: str | None) -> int | None:
    if policy_id is None:
        return None
    minutes: int | None = await session.scalar(
        select(SlaPolicy.reassign_after_minutes).where(SlaPolicy.id == policy_id)
    )
    return minutes


# --------------------------------------------------------------------------- queue


async def enqueue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = _upsert(session, QueuedCase).on_conflict_do_nothing(
        index_elements=[QueuedCase.case_id]
    )
    await session.execute(statement, rows)


async def dequeue(session: AsyncSession, case_ids: Sequence[str]) -> None:
    if case_ids:
        await session.execute(delete(QueuedCase).where(QueuedCase.case_id.in_(list(case_ids))))


async def queued_departments(session: AsyncSession, limit: int = 200) -> list[tuple[str, str]]:
    """(brand, department) pairs with cases waiting, oldest first."""
    rows = await session.execute(
        select(QueuedCase.brand_id, QueuedCase.department, func.min(QueuedCase.queued_at))
        .group_by(QueuedCase.brand_id, QueuedCase.department)
        .order_by(func.min(QueuedCase.queued_at))
        .limit(limit)
    )
    return [(brand_id, department) for brand_id, department, _ in rows]


async def claim_queue(
    session: AsyncSession, brand_id: str, department: str, limit: int
) -> list[Case]:
    """The department's waiting cases in queue order, locked; those another transaction is
    assigning right now are skipped (it will finish them)."""
    queued = (
        select(QueuedCase.case_id)
        .where(QueuedCase.brand_id == brand_id, QueuedCase.department == department)
        .order_by(QueuedCase.rank, QueuedCase.queued_at, QueuedCase.case_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    case_ids = list((await session.scalars(queued)).all())
    if not case_ids:
        return []
    cases = await cases_by_id(session, case_ids)
    return [cases[case_id] for case_id in case_ids if case_id in cases]


# --------------------------------------------------------------------------- SLA


async def due_for_sla(session: AsyncSession, now: datetime, limit: int) -> list[Case]:
    """Active cases whose next SLA check is due, locked; rows another scheduler holds are
    skipped, so two schedulers never handle one case at once."""
    return list(
        (
            await session.scalars(
                select(Case)
                .where(Case.sla_next_check_at <= now, Case.status.in_(ACTIVE_STATUSES))
                .order_by(Case.sla_next_check_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )


# --------------------------------------------------------------------------- API


def visibility_condition(
    departments: frozenset[str] | None, *, may_see_hr: bool, is_admin: bool
) -> ColumnElement[bool]:
    """What a key limited to departments (or not allowed HR) may see of the cases."""
    if is_admin:
        return true()
    is_hr = func.coalesce(
        or_(Case.department == "hr", Case.intent.in_(("job_inquiry", "employee_matter"))), false()
    )
    others: ColumnElement[bool] = (
        true() if departments is None else Case.department.in_(sorted(departments))
    )
    if may_see_hr:
        return or_(is_hr, others)
    return and_(~is_hr, others)


async def list_cases(
    session: AsyncSession,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Case]:
    query = select(Case).where(*conditions).order_by(Case.opened_at.desc(), Case.id.desc())
    if after is not None:
        opened_at, case_id = after
        query = query.where(
            or_(Case.opened_at < opened_at, and_(Case.opened_at == opened_at, Case.id < case_id))
        )
    return list((await session.scalars(query.limit(limit))).all())


async def count_cases(session: AsyncSession, conditions: list[ColumnElement[bool]]) -> int:
    return int(await session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0)


def text_condition(pattern: str) -> ColumnElement[bool]:
    return exists().where(
        CaseMessage.case_id == Case.id, CaseMessage.text.ilike(pattern, escape="\\")
    )


async def get_case(
    session: AsyncSession, case_id: str, *, lock: bool = False, skip_locked: bool = False
) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update(skip_locked=skip_locked).execution_options(
            populate_existing=True
        )
    case: Case | None = await session.scalar(query)
    return case


async def case_messages(session: AsyncSession, case_id: str) -> list[CaseMessage]:
    return list(
        (
            await session.scalars(
                select(CaseMessage)
                .where(CaseMessage.case_id == case_id)
                .order_by(CaseMessage.created_at, CaseMessage.id)
            )
        ).all()
    )


async def case_history(session: AsyncSession, case_id: str) -> list[CaseHistory]:
    return list(
        (
            await session.scalars(
                select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(CaseHistory.id)
            )
        ).all()
    )


async def case_notes(session: AsyncSession, case_id: str) -> list[CaseNote]:
    return list(
        (
            await session.scalars(
                select(CaseNote)
                .where(CaseNote.case_id == case_id)
                .order_by(CaseNote.created_at, CaseNote.id)
            )
        ).all()
    )


async def first_inbound_text(session: AsyncSession, case_id: str) -> CaseMessage | None:
    message: CaseMessage | None = await session.scalar(
        select(CaseMessage)
        .where(CaseMessage.case_id == case_id, CaseMessage.direction == "inbound")
        .order_by(CaseMessage.created_at, CaseMessage.id)
        .limit(1)
    )
    return message


async def open_cases_for_alert(
    session: AsyncSession,
    brand_id: str,
    *,
    thread_keys: Sequence[str],
    channels: Sequence[str],
    intents: Sequence[str],
    keywords: Sequence[str],
    limit: int = 1000,
) -> list[Case]:
    """The brand's active cases an alert is about: its threads, or its channels / intents /
    keywords (any of them); every active case of the brand when the alert names none."""
    matches: list[ColumnElement[bool]] = []
    if thread_keys:
        matches.append(Case.thread_key.in_(list(thread_keys)))
    if channels:
        matches.append(Case.channel.in_(list(channels)))
    if intents:
        matches.append(Case.intent.in_(list(intents)))
    for keyword in keywords:
        matches.append(text_condition(f"%{escape_like(keyword)}%"))
    query = (
        select(Case)
        .where(Case.brand_id == brand_id, Case.status.in_(ACTIVE_STATUSES))
        .order_by(Case.id)
        .limit(limit)
        .with_for_update()
    )
    if matches:
        query = query.where(or_(*matches))
    return list((await session.scalars(query)).all())


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
