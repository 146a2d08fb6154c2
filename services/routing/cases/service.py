"""Case rules behind the API: what a key may see, and the changes people make to cases.

Visibility: a key sees the cases of its brands; HR cases (department `hr`, or an HR intent:
`job_inquiry`, `employee_matter`, whatever department holds them) only when it may see HR
(limited to departments including `hr`, or admin); other cases, a key limited to departments
only in those. The same conditions filter lists, counts and
single reads (another's case is a 404, exactly as a missing one).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, String, cast, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import service as routing_service
from services.routing.assignment import Reason, eligible
from services.routing.cases import assigning, clocks, repository
from services.routing.cases.brand_routing import HR_INTENTS, load_brand_routing
from services.routing.cases.events import CaseChanges
from services.routing.cases.exceptions import (
    CaseChangedError,
    CaseNotActiveError,
    CaseNotFoundError,
    DepartmentNotFoundError,
    MemberCannotTakeCaseError,
    MemberNotFoundError,
)
from services.routing.cases.models import ACTIVE_STATUSES, Case, CaseNote
from services.routing.cases.schemas import (
    CaseDetail,
    CasePage,
    CaseRead,
    CaseUpdate,
    ClockRead,
    HistoryRead,
    MessageRead,
    NoteRead,
    SlaRead,
    SlaState,
)
from services.routing.intents import Intent
from shared.auth import Principal, brand_condition
from shared.bus.tables import BusTables
from shared.errors import BadRequestError
from shared.events.cases import CaseStatus, Priority
from shared.limits import unstorable_text
from shared.pagination import fetch_size

# --------------------------------------------------------------------------- reading


def visible(principal: Principal) -> list[ColumnElement[bool]]:
    return [
        brand_condition(Case.brand_id, principal.brands),
        repository.visibility_condition(
            principal.departments if not principal.is_admin else None,
            may_see_hr=principal.may_see_department("hr"),
            is_admin=principal.is_admin,
        ),
    ]


def may_see(principal: Principal, case: Case) -> bool:
    if not principal.allows_brand(case.brand_id):
        return False
    if principal.is_admin:
        return True
    is_hr = case.department == "hr" or (case.intent in HR_INTENTS)
    if is_hr:
        return principal.may_see_department("hr")
    if principal.departments is not None:
        return case.department is not None and case.department in principal.departments
    return True


async def visible_case(
    session: AsyncSession, principal: Principal, case_id: str, *, lock: bool = False
) -> Case:
    case = await repository.get_case(session, case_id, lock=lock) if len(case_id) <= 36 else None
    if case is None or not may_see(principal, case):
        raise CaseNotFoundError(f"no case {case_id}", field="case_id")
    return case


def _clock(case: Case, kind: str) -> ClockRead:
    at_risk_at = getattr(case, f"{kind}_at_risk_at")
    breached_at = getattr(case, f"{kind}_breached_at")
    return ClockRead(
        due_at=getattr(case, f"{kind}_due_at"),
        target_seconds=getattr(case, f"{kind}_target_seconds"),
        at_risk=at_risk_at is not None and breached_at is None,
        at_risk_at=at_risk_at,
        breached=breached_at is not None,
        breached_at=breached_at,
    )


def case_read(case: Case) -> CaseRead:
    return CaseRead(
        id=case.id,
        brand_id=case.brand_id,
        thread_key=case.thread_key,
        channel=case.channel,
        account_id=case.account_id,
        status=case.status,
        priority=case.priority,
        department=case.department,
        assignee_id=case.assignee_id,
        intent=case.intent,
        intent_confidence=case.intent_confidence,
        lang=case.lang,
        sentiment_label=case.sentiment_label,
        sentiment_score=case.sentiment_score,
        tags=list(case.tags or []),
        skills=list(case.skills or []),
        requires_approval=case.requires_approval,
        author_external_id=case.author_external_id,
        author_handle=case.author_handle,
        author_followers=case.author_followers,
        sla=SlaRead(
            policy_id=case.sla_policy_id,
            business_hours=case.sla_business_hours,
            first_response=_clock(case, "first_response"),
            next_response=_clock(case, "next_response"),
            resolution=_clock(case, "resolution"),
        ),
        first_inbound_at=case.first_inbound_at,
        last_inbound_at=case.last_inbound_at,
        opened_at=case.opened_at,
        assigned_at=case.assigned_at,
        first_response_at=case.first_response_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        message_count=case.message_count,
        reopened_count=case.reopened_count,
        version=case.version,
    )


async def case_detail(session: AsyncSession, principal: Principal, case_id: str) -> CaseDetail:
    case = await visible_case(session, principal, case_id)
    messages = await repository.case_messages(session, case.id)
    history = await repository.case_history(session, case.id)
    notes = await repository.case_notes(session, case.id)
    return CaseDetail(
        **case_read(case).model_dump(),
        messages=[MessageRead.model_validate(m, from_attributes=True) for m in messages],
        history=[HistoryRead.model_validate(h, from_attributes=True) for h in history],
        notes=[NoteRead.model_validate(n, from_attributes=True) for n in notes],
    )


def filters(
    *,
    brand_id: str | None = None,
    status: CaseStatus | None = None,
    department: str | None = None,
    assignee_id: str | None = None,
    priority: Priority | None = None,
    sla: SlaState | None = None,
    channel: str | None = None,
    intent: str | None = None,
    lang: str | None = None,
    sentiment: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    dialect: str = "postgresql",
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    simple = {
        Case.brand_id: brand_id,
        Case.status: status.value if status else None,
        Case.department: department,
        Case.assignee_id: assignee_id,
        Case.priority: priority.value if priority else None,
        Case.channel: channel,
        Case.intent: intent,
        Case.lang: lang,
        Case.sentiment_label: sentiment,
    }
    for column, value in simple.items():
        if value is not None:
            conditions.append(column == value)
    breached = or_(
        Case.first_response_breached_at.is_not(None),
        Case.next_response_breached_at.is_not(None),
        Case.resolution_breached_at.is_not(None),
    )
    if sla is SlaState.breached:
        conditions.append(breached)
    elif sla is SlaState.at_risk:
        conditions.append(
            or_(
                Case.first_response_at_risk_at.is_not(None)
                & Case.first_response_breached_at.is_(None),
                Case.next_response_at_risk_at.is_not(None)
                & Case.next_response_breached_at.is_(None),
                Case.resolution_at_risk_at.is_not(None) & Case.resolution_breached_at.is_(None),
            )
        )
    if tag is not None:
        if dialect == "postgresql":
            conditions.append(cast(Case.tags, JSONB).contains([tag]))
        else:
            pattern = f'%"{repository.escape_like(tag)}"%'
            conditions.append(cast(Case.tags, String).like(pattern, escape="\\"))
    if q:
        conditions.append(repository.text_condition(f"%{repository.escape_like(q)}%"))
    return conditions


def encode_cursor(case: Case) -> str:
    return base64.urlsafe_b64encode(f"{case.opened_at.isoformat()}|{case.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        opened, case_id = base64.urlsafe_b64decode(cursor).decode().split("|", 1)
        position = datetime.fromisoformat(opened)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("the cursor is not one this API issued", field="cursor") from exc
    if position.tzinfo is None or unstorable_text(case_id) is not None or len(case_id) > 36:
        raise BadRequestError("the cursor is not one this API issued", field="cursor")
    return position, case_id


async def list_cases(
    session: AsyncSession,
    principal: Principal,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    cursor: str | None,
) -> CasePage:
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.list_cases(
        session, [*visible(principal), *conditions], limit=fetch_size(limit), after=after
    )
    return CasePage.from_rows(rows, limit, item=case_read, cursor=encode_cursor)


async def count_cases(
    session: AsyncSession, principal: Principal, conditions: list[ColumnElement[bool]]
) -> int:
    return await repository.count_cases(session, [*visible(principal), *conditions])


# --------------------------------------------------------------------------- changing


def _ensure_version(case: Case, version: int | None) -> None:
    if version is not None and version != case.version:
        raise CaseChangedError(
            f"the case is at version {case.version}, not {version}: read it again",
            field="version",
        )


async def leave_active(session: AsyncSession, changes: CaseChanges, case: Case) -> None:
    """The case stops counting against its assignee; whoever waits in the queue of its
    department may take the freed place at once."""
    await assigning.release(session, case)
    await repository.dequeue(session, [case.id])
    clocks.stop_clocks(case)
    if case.assignee_id is not None and case.department is not None:
        await session.flush()
        await assigning.drain_queue(session, changes, case.brand_id, case.department)


async def department_business_seconds(
    session: AsyncSession,
    brand_id: str,
    department: str | None,
    spans: Mapping[str, tuple[datetime | None, datetime]],
) -> dict[str, float | None]:
    """Each named (start, end) span in the open hours of the department's calendar (the team's
    cached configuration); empty when the department has none, None for a span with no start.
    Measured in routing because only routing knows the calendars (kpi folds the figures)."""
    brand = await load_brand_routing(session, brand_id)
    calendar = brand.config.calendar(department)
    if calendar is None:
        return {}
    return {
        name: None if start is None else max(0.0, calendar.business_seconds_between(start, end))
        for name, (start, end) in spans.items()
    }


async def mark_resolved(session: AsyncSession, case: Case, at: datetime) -> None:
    """Resolved at `at`; its resolution time (from `opened_at`) also in business hours of its
    department's calendar, for the case events (kpi knows no calendars)."""
    case.resolved_at = at
    spans = {"resolution": (case.opened_at, at)}
    measured = await department_business_seconds(session, case.brand_id, case.department, spans)
    case.resolution_business_seconds = measured.get("resolution")


async def update_case(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    case_id: str,
    data: CaseUpdate,
) -> CaseRead:
    case = await visible_case(session, principal, case_id, lock=True)
    _ensure_version(case, data.version)
    changes = CaseChanges(tables)
    actor = principal.key_id
    changed: dict[str, list[object]] = {}
    previous_status = case.status
    event_type = "case.updated"
    if data.status is not None and data.status.value != case.status:
        new = data.status.value
        was_active = case.status in ACTIVE_STATUSES
        case.status = new
        changed["status"] = [previous_status, new]
        if was_active and new not in ACTIVE_STATUSES:
            if new == "resolved":
                await mark_resolved(session, case, changes.now)
                event_type = "case.resolved"
            else:
                case.closed_at = changes.now
            await leave_active(session, changes, case)
        elif not was_active and new in ACTIVE_STATUSES:
            case.resolved_at = None
            case.closed_at = None
            case.assignee_id = None
            case.reopened_count += 1
            event_type = "case.reopened"
        elif new == "closed":
            case.closed_at = changes.now
        elif new == "resolved":
            await mark_resolved(session, case, changes.now)
            event_type = "case.resolved"
    if data.priority is not None and data.priority.value != case.priority:
        changed["priority"] = [case.priority, data.priority.value]
        case.priority = data.priority.value
    if data.tags is not None and list(data.tags) != list(case.tags or []):
        tags = list(dict.fromkeys(data.tags))
        changed["tags"] = [list(case.tags or []), tags]
        case.tags = tags
    if data.intent is not None and data.intent.value != case.intent:
        changed["intent"] = [case.intent, data.intent.value]
        await _record_correction(session, case, data.intent, actor)
        case.intent = data.intent.value
        case.intent_confidence = 1.0
    if not changed:
        return case_read(case)
    case.version += 1
    if case.status in ACTIVE_STATUSES and ({"priority", "status"} & changed.keys()):
        brand = await load_brand_routing(session, case.brand_id)
        clocks.apply_plan(case, brand.sla_for(case.department, Priority(case.priority)))
    changes.record(case, event_type.removeprefix("case."), actor=actor, changes=changed)
    changes.publish(event_type, case, actor=actor, changed=sorted(changed))
    if event_type == "case.reopened":
        await session.flush()
        await assigning.assign_or_queue(session, changes, case.brand_id, [case])
    await changes.write(session)
    return case_read(case)


async def _record_correction(session: AsyncSession, case: Case, intent: Intent, actor: str) -> None:
    message = await repository.first_inbound_text(session, case.id)
    if message is None or not message.text.strip():
        return
    previous = Intent(case.intent) if case.intent in {item.value for item in Intent} else None
    await routing_service.record_intent_correction(
        session,
        brand_id=case.brand_id,
        text=message.text,
        intent=intent,
        labelled_by=actor,
        previous_intent=previous,
        lang=case.lang,
        channel=case.channel,
        case_id=case.id,
    )


async def assign_case(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    case_id: str,
    member_id: str,
) -> CaseRead:
    """Give the case to a member of its department who holds a grant on its account and has
    room under capacity (availability and hours are the lead's call)."""
    case = await visible_case(session, principal, case_id, lock=True)
    if case.status not in ACTIVE_STATUSES:
        raise CaseNotActiveError(f"the case is {case.status}", field="case_id")
    if case.assignee_id == member_id:
        return case_read(case)
    if case.department is None:
        raise CaseNotActiveError("the case has no department", field="case_id")
    pool = await assigning.Pool.lock(session, case.brand_id, [case.department])
    candidate = pool.members.get(member_id)
    if candidate is None:
        if await repository.get_member(session, case.brand_id, member_id) is None:
            raise MemberNotFoundError(f"no member {member_id}", field="member_id")
        raise MemberCannotTakeCaseError(
            f"member {member_id} is not in {case.department}",
            field="member_id",
            reason=Reason.not_in_department.value,
        )
    verdict = eligible([candidate], case.department, case.account_id, None, (), changes_now())[0]
    blocking = [
        reason
        for reason in verdict.reasons
        if reason in (Reason.no_account_grant, Reason.at_capacity, Reason.not_in_department)
    ]
    if blocking:
        raise MemberCannotTakeCaseError(
            verdict.describe("en"), field="member_id", reason=blocking[0].value
        )
    changes = CaseChanges(tables)
    previous = case.assignee_id
    if previous is not None:
        await repository.release_member(session, previous)
    pool.take(member_id, changes.now)
    await pool.save(session)
    assigning.give(case, member_id, changes, actor=principal.key_id, previous=previous)
    await repository.dequeue(session, [case.id])
    await changes.write(session)
    return case_read(case)


def changes_now() -> datetime:
    return datetime.now(UTC)


async def transfer_case(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    case_id: str,
    department: str,
    note: str,
) -> CaseRead:
    """Hand the case to another department with a note: its assignee lets go, the new
    department's members are offered it (or its queue), SLA deadlines follow the new policy."""
    case = await visible_case(session, principal, case_id, lock=True)
    if case.status not in ACTIVE_STATUSES:
        raise CaseNotActiveError(f"the case is {case.status}", field="case_id")
    if not await repository.department_exists(session, case.brand_id, department):
        raise DepartmentNotFoundError(f"no department {department}", field="department")
    if department == case.department:
        return case_read(case)
    changes = CaseChanges(tables)
    previous_department, previous_assignee = case.department, case.assignee_id
    await assigning.release(session, case)
    await repository.dequeue(session, [case.id])
    case.assignee_id = None
    case.department = department
    case.version += 1
    brand = await load_brand_routing(session, case.brand_id)
    clocks.apply_plan(case, brand.sla_for(department, Priority(case.priority)))
    session.add(
        CaseNote(
            id=str(uuid.uuid4()),
            case_id=case.id,
            author=principal.key_id,
            text=note,
            created_at=changes.now,
        )
    )
    changes.record(
        case,
        "transferred",
        actor=principal.key_id,
        changes={
            "department": [previous_department, department],
            "assignee_id": [previous_assignee, None],
        },
        note=note,
    )
    changes.publish(
        "case.transferred",
        case,
        actor=principal.key_id,
        previous_department=previous_department,
        previous_assignee_id=previous_assignee,
        note=note,
    )
    await session.flush()
    await assigning.assign_or_queue(session, changes, case.brand_id, [case])
    await changes.write(session)
    return case_read(case)


async def add_note(
    session: AsyncSession, tables: BusTables, principal: Principal, case_id: str, text: str
) -> NoteRead:
    case = await visible_case(session, principal, case_id)
    changes = CaseChanges(tables)
    note = CaseNote(
        id=str(uuid.uuid4()),
        case_id=case.id,
        author=principal.key_id,
        text=text,
        created_at=changes.now,
    )
    session.add(note)
    changes.record(case, "note_added", actor=principal.key_id, changes={"note_id": note.id})
    await changes.write(session)
    return NoteRead.model_validate(note, from_attributes=True)
