"""Giving cases to members: the choice is `services.routing.assignment.choose`; this module holds
the members' rows while it decides, so concurrent consumers never push anyone past capacity.

Every transaction that assigns locks the members of the departments involved (`SELECT ... FOR
UPDATE`, in member id order so two never wait on each other in a cycle), reads `open_cases`
under the lock, chooses, and writes the new counts before it commits. A case nobody can take
waits in `assignment_queue` (highest priority, then oldest first) until the scheduler's queue
pass finds someone: after a case is resolved, or when a member comes online.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.assignment import Availability, Candidate, choose
from services.routing.cases import repository
from services.routing.cases.brand_routing import PRIORITY_RANK
from services.routing.cases.events import CaseChanges
from services.routing.cases.models import AnyCase, Case
from services.routing.models import Member
from shared.business_hours import BusinessCalendar, CalendarError
from shared.events.cases import Priority

# Cases given out between two yields to the event loop.
YIELD_EVERY = 100


def member_calendar(member: Member) -> BusinessCalendar | None:
    """The member's working hours (none set: always at work)."""
    hours = member.weekly_hours or {}
    if not any(hours.values()):
        return None
    try:
        holidays = [date.fromisoformat(day) for day in member.holidays or []]
        return BusinessCalendar(member.timezone or "UTC", hours, holidays)
    except (CalendarError, ValueError):
        return None


def candidate_of(member: Member, departments: Sequence[str], grants: Sequence[str]) -> Candidate:
    try:
        availability = Availability(member.availability)
    except ValueError:
        availability = Availability.offline
    return Candidate(
        member_id=member.id,
        departments=frozenset(departments),
        languages=frozenset(member.languages or []),
        skills=frozenset(member.skills or []),
        account_ids=frozenset(grants),
        open_cases=member.open_cases,
        capacity=member.capacity,
        availability=availability,
        calendar=member_calendar(member),
        last_assigned_at=member.last_assigned_at,
    )


class Pool:
    """The locked members of one brand, updated in memory as cases are given out."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.members = {candidate.member_id: candidate for candidate in candidates}
        self.changed: set[str] = set()

    @classmethod
    async def lock(cls, session: AsyncSession, brand_id: str, departments: Sequence[str]) -> Pool:
        rows = await repository.lock_members(session, brand_id, departments)
        return cls([candidate_of(member, keys, grants) for member, keys, grants in rows])

    def choose_for(
        self, case: AnyCase, now: datetime, *, excluding: str | None = None
    ) -> Candidate | None:
        if case.department is None:
            return None
        return choose(
            (
                c
                for c in self.members.values()
                if case.department in c.departments and c.member_id != excluding
            ),
            case.department,
            case.account_id,
            case.lang,
            case.skills or [],
            now,
        )

    def take(self, member_id: str, now: datetime) -> None:
        current = self.members[member_id]
        self.members[member_id] = dataclasses.replace(
            current, open_cases=current.open_cases + 1, last_assigned_at=now
        )
        self.changed.add(member_id)

    async def save(self, session: AsyncSession) -> None:
        await repository.set_member_loads(
            session,
            {
                member_id: (
                    self.members[member_id].open_cases,
                    self.members[member_id].last_assigned_at,
                )
                for member_id in sorted(self.changed)
            },
        )
        self.changed.clear()


def give(
    case: AnyCase,
    member_id: str,
    changes: CaseChanges,
    *,
    actor: str = "system",
    previous: str | None = None,
) -> None:
    previous = previous or case.assignee_id
    case.assignee_id = member_id
    case.assigned_at = changes.now
    case.version += 1
    changes.record(case, "assigned", actor=actor, changes={"assignee_id": [previous, member_id]})
    changes.publish("case.assigned", case, actor=actor, previous_assignee_id=previous)


@dataclasses.dataclass
class Decided:
    """What one assignment pass chose under the members' locks, written once the cases it is
    about are stored (the queue's rows refer to them)."""

    pool: Pool
    assigned: list[AnyCase] = dataclasses.field(default_factory=list)
    queue_rows: list[dict[str, object]] = dataclasses.field(default_factory=list)
    dequeue_ids: list[str] = dataclasses.field(default_factory=list)

    async def write(self, session: AsyncSession) -> None:
        await self.pool.save(session)
        await session.flush()
        await repository.enqueue(session, self.queue_rows)
        await repository.dequeue(session, self.dequeue_ids)


async def decide_assignments(
    session: AsyncSession,
    changes: CaseChanges,
    brand_id: str,
    cases: Sequence[AnyCase],
    *,
    already_queued: frozenset[str] = frozenset(),
    previous_assignees: dict[str, str] | None = None,
) -> Decided | None:
    """Lock the members involved and give each case (in the order given) to the best member
    under capacity, or mark it for the queue; nothing is written yet (`Decided.write`). None
    when no case needs an assignee."""
    wanted = [case for case in cases if case.department is not None and case.assignee_id is None]
    if not wanted:
        return None
    pool = await Pool.lock(
        session, brand_id, sorted({case.department for case in wanted if case.department})
    )
    decided = Decided(pool)
    previous = previous_assignees or {}
    for position, case in enumerate(wanted):
        if position and position % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a poll's hundreds of choices: let the event loop run
        chosen = pool.choose_for(case, changes.now)
        if chosen is not None:
            pool.take(chosen.member_id, changes.now)
            give(case, chosen.member_id, changes, previous=previous.get(case.id))
            decided.assigned.append(case)
            if case.id in already_queued:
                decided.dequeue_ids.append(case.id)
        elif case.id not in already_queued:
            decided.queue_rows.append(
                {
                    "case_id": case.id,
                    "brand_id": case.brand_id,
                    "department": case.department,
                    "rank": PRIORITY_RANK[Priority(case.priority)],
                    "queued_at": changes.now,
                }
            )
            changes.record(case, "queued", changes={"department": [None, case.department]})
            changes.publish("case.queued", case, previous_assignee_id=previous.get(case.id))
    return decided


async def assign_or_queue(
    session: AsyncSession,
    changes: CaseChanges,
    brand_id: str,
    cases: Sequence[Case],
    *,
    already_queued: frozenset[str] = frozenset(),
    previous_assignees: dict[str, str] | None = None,
) -> list[Case]:
    """Assign each case (in the order given) to the best member under capacity, or queue it;
    return the cases that were assigned."""
    decided = await decide_assignments(
        session,
        changes,
        brand_id,
        cases,
        already_queued=already_queued,
        previous_assignees=previous_assignees,
    )
    if decided is None:
        return []
    await decided.write(session)
    return [case for case in decided.assigned if isinstance(case, Case)]


async def release(session: AsyncSession, case: Case) -> None:
    """The case no longer counts against its assignee's capacity."""
    if case.assignee_id is not None:
        await repository.release_member(session, case.assignee_id)


async def drain_queue(
    session: AsyncSession, changes: CaseChanges, brand_id: str, department: str, *, limit: int = 100
) -> list[Case]:
    """Assign what the department's queue holds to whoever can take it now."""
    waiting = await repository.claim_queue(session, brand_id, department, limit)
    if not waiting:
        return []
    active = [
        case for case in waiting if case.status in ("open", "pending") and case.assignee_id is None
    ]
    stale = [case.id for case in waiting if case not in active]
    await repository.dequeue(session, stale)
    return await assign_or_queue(
        session, changes, brand_id, active, already_queued=frozenset(case.id for case in active)
    )
