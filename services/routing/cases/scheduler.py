"""The case scheduler: SLA clocks, the assignment queue and absent assignees, in one loop.

Each pass (every `interval`, or at once when woken after a case is resolved):
1. SLA: active cases whose `sla_next_check_at` has come are marked at risk (`case.updated`,
   changed `sla.<clock>_at_risk`) or breached (`case.sla_breached`, once per clock: the breach
   is stored on the case in the transaction that stages the event).
2. The queue: waiting cases go to whoever can take them now (a case was resolved, a member
   came online or into working hours).
3. Absent assignees: active cases of members who went away or offline are given to someone
   else, or queued.
4. Idle assignees: an open case whose assignee has not acted (no reply sent since they got it,
   the case not set pending) within its SLA policy's `reassign_after_minutes` goes to someone
   else of the department who can take it; when nobody can, it stays and is marked
   (`reassign_attempted_at`) so it is not tried again until it changes hands.

Several replicas: like the outbox relay, one scheduler per service works at a time, holding a
PostgreSQL session advisory lock (its lease) on a connection of its own; a replica that dies
loses the lock with its connection and another takes over at its next pass. Every case it
touches is read `FOR UPDATE SKIP LOCKED` and re-checked, so even two schedulers at once (the
lease changing hands mid-pass) never report one breach twice. State lives in the cases'
columns, so a restart continues where the last pass stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from services.routing.cases import assigning, clocks, repository
from services.routing.cases.events import CaseChanges
from services.routing.cases.models import Case
from shared.bus.tables import BusTables
from shared.db import advisory_key

logger = structlog.get_logger("socialcare.routing.scheduler")


def lease_key(name: str) -> int:
    return advisory_key(f"socialcare.routing.{name}")


class CaseScheduler:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        tables: BusTables,
        interval: float = 1.0,
        batch: int = 500,
        on_committed: Callable[[], None] | None = None,
        name: str = "case-scheduler",
    ) -> None:
        self.sessions = sessions
        self.tables = tables
        self.interval = interval
        self.batch = batch
        self.on_committed = on_committed
        self.name = name
        self.task: asyncio.Task[None] | None = None
        self._lease: AsyncConnection | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def leading(self) -> bool:
        return self._lease is not None

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        try:
            while not self._stopping:
                try:
                    await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning("case_scheduler_failed", error=str(exc))
                    await self.release()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            await self.release()

    # ------------------------------------------------------------------ the lease

    def _engine(self) -> AsyncEngine:
        bind = self.sessions.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("the case scheduler needs a session factory bound to an engine")
        return bind

    async def acquire(self) -> bool:
        if self._lease is not None:
            return True
        engine = self._engine()
        if engine.dialect.name != "postgresql":
            return True  # SQLite: one process per file
        connection = await engine.connect()
        try:
            held = await connection.scalar(select(func.pg_try_advisory_lock(lease_key(self.name))))
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not held:
            await connection.close()
            return False
        self._lease = connection
        logger.info("case_scheduler_lease_acquired")
        return True

    async def release(self) -> None:
        lease, self._lease = self._lease, None
        if lease is None:
            return
        with contextlib.suppress(Exception):
            await lease.invalidate()
        with contextlib.suppress(Exception):
            await lease.close()

    # ------------------------------------------------------------------ passes

    async def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass (nothing when another replica holds the lease); what it did."""
        if not await self.acquire():
            return {}
        return {
            "sla": await self.sla_pass(now),
            "queue": await self.queue_pass(),
            "absent": await self.absent_pass(),
            "idle": await self.idle_pass(now),
        }

    def _committed(self) -> None:
        if self.on_committed is not None:
            self.on_committed()

    async def sla_pass(self, now: datetime | None = None) -> int:
        """Mark due clocks; return how many events were staged."""
        moment = now or datetime.now(UTC)
        total = 0
        while True:
            async with self.sessions() as session, session.begin():
                due = await repository.due_for_sla(session, moment, self.batch)
                changes = CaseChanges(self.tables, now=moment)
                for case in due:
                    for event in clocks.advance(case, moment):
                        _announce(changes, case, event)
                staged = len(changes.envelopes)
                await changes.write(session)
            total += staged
            if staged or due:
                self._committed()
            if len(due) < self.batch:
                return total

    async def queue_pass(self) -> int:
        assigned = 0
        async with self.sessions() as session:
            departments = await repository.queued_departments(session)
        for brand_id, department in departments:
            async with self.sessions() as session, session.begin():
                changes = CaseChanges(self.tables)
                done = await assigning.drain_queue(session, changes, brand_id, department)
                await changes.write(session)
            if done:
                assigned += len(done)
                self._committed()
        return assigned

    async def absent_pass(self) -> int:
        """Reassign the active cases of members who are away or offline."""
        moved = 0
        async with self.sessions() as session:
            absent = await repository.absent_assignees(session)
        for brand_id, member_id in absent:
            async with self.sessions() as session, session.begin():
                changes = CaseChanges(self.tables)
                cases = await repository.active_cases_of(session, member_id)
                member = await repository.lock_member(session, brand_id, member_id)
                if member is None or member[0].availability == "available":
                    continue
                previous_assignees = {case.id: member_id for case in cases}
                for case in cases:
                    await assigning.release(session, case)
                    previous = case.assignee_id
                    case.assignee_id = None
                    case.version += 1
                    changes.record(
                        case,
                        "unassigned",
                        changes={"assignee_id": [previous, None]},
                        note=f"assignee {member[0].availability}",
                    )
                await session.flush()
                await assigning.assign_or_queue(
                    session, changes, brand_id, cases, previous_assignees=previous_assignees
                )
                await changes.write(session)
            moved += len(cases)
            if cases:
                self._committed()
        return moved

    async def idle_pass(self, now: datetime | None = None) -> int:
        """Reassign open cases whose assignee has not acted within the policy's time."""
        moment = now or datetime.now(UTC)
        moved = 0
        async with self.sessions() as session:
            idle = await repository.idle_assignments(session, moment, self.batch)
        for brand_id, case_id in idle:
            async with self.sessions() as session, session.begin():
                # Locked and read again: another scheduler (or a reply) may have got there first.
                case = await repository.get_case(session, case_id, lock=True, skip_locked=True)
                if case is None:
                    continue
                minutes = await repository.reassign_minutes(session, case.sla_policy_id)
                if minutes is None or not _idle(case, moment, minutes):
                    continue
                changes = CaseChanges(self.tables, now=moment)
                if await _hand_on(session, changes, brand_id, case, minutes):
                    moved += 1
                await changes.write(session)
            self._committed()
        return moved


def _idle(case: Case, now: datetime, minutes: int) -> bool:
    assigned_at = case.assigned_at
    if case.status != "open" or case.assignee_id is None or assigned_at is None:
        return False
    if case.last_response_at is not None and case.last_response_at >= assigned_at:
        return False
    if case.reassign_attempted_at is not None and case.reassign_attempted_at >= assigned_at:
        return False
    return assigned_at + timedelta(minutes=minutes) <= now


async def _hand_on(
    session: AsyncSession, changes: CaseChanges, brand_id: str, case: Case, minutes: int
) -> bool:
    """Give the case to someone else of its department; False (and the case marked) when
    nobody else can take it now."""
    idle_member = case.assignee_id
    department = case.department
    pool = await assigning.Pool.lock(session, brand_id, [department] if department else [])
    chosen = pool.choose_for(case, changes.now, excluding=idle_member)
    note = f"no action within {minutes} min / sin actuar en {minutes} min"
    if chosen is None:
        case.reassign_attempted_at = changes.now
        changes.record(case, "reassign_skipped", note=note + "; nobody else can take it")
        return False
    await assigning.release(session, case)
    changes.record(case, "unassigned", changes={"assignee_id": [idle_member, None]}, note=note)
    pool.take(chosen.member_id, changes.now)
    assigning.give(case, chosen.member_id, changes, previous=idle_member)
    await pool.save(session)
    await session.flush()
    return True


def _announce(changes: CaseChanges, case: Case, event: clocks.ClockEvent) -> None:
    field = f"sla.{event.kind.value}"
    if event.breached:
        case.version += 1
        changes.record(case, "sla_breached", changes={field: "breached"})
        changes.publish("case.sla_breached", case, sla_kind=event.kind)
    else:
        changes.record(case, "sla_at_risk", changes={field: "at_risk"})
        changes.publish("case.updated", case, sla_kind=event.kind, changed=[f"{field}_at_risk"])
