"""Goal rules: who may set which goal, live attainment, and the evaluation that raises and
resolves goal alerts (through the outbox, in the caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.goals import repository
from services.kpi.goals.evaluation import GoalStatus, Judgement, Period, judge, period_bounds
from services.kpi.goals.exceptions import GoalNotFoundError
from services.kpi.goals.models import Goal
from services.kpi.goals.schemas import Attainment, GoalCreate, GoalRead, GoalUpdate
from services.kpi.metrics import service as metrics
from services.kpi.metrics.definitions import METRICS
from services.kpi.models import bus_tables
from services.kpi.rollups.measures import bucket_start
from shared.auth import Principal, ensure_brand_writable, ensure_every_department
from shared.bus.outbox import add_to_outbox
from shared.errors import ForbiddenError
from shared.events.alerts import AlertKind, AlertRaised, AlertResolved, AlertSeverity
from shared.events.envelope import Envelope
from shared.ids import random_uuid

# Goals are judged on every figure of their brand (or department), whoever set them.
EVALUATOR = Principal(key_id="kpi-goals", scopes=frozenset({"admin"}))
_TITLES = {
    GoalStatus.at_risk: ("Objetivo en riesgo", "Goal at risk"),
    GoalStatus.missed: ("Objetivo no alcanzado", "Goal missed"),
}


def _ensure_department(principal: Principal, department: str | None) -> None:
    if department is None:
        ensure_every_department(principal, "a goal for the whole brand")
    elif not principal.may_see_department(department):
        raise ForbiddenError(
            f"this API key may not set goals for {department}",
            field="department",
            reason="department_not_allowed",
        )


def _visible(principal: Principal, goal: Goal) -> bool:
    if not principal.allows_brand(goal.brand_id):
        return False
    if goal.department is None:
        return principal.is_admin or principal.departments is None
    return principal.may_see_department(goal.department)


async def get_visible(
    session: AsyncSession, principal: Principal, goal_id: str, *, for_update: bool = False
) -> Goal:
    goal = await repository.get(session, goal_id, for_update=for_update)
    if goal is None or not _visible(principal, goal):
        raise GoalNotFoundError(f"no goal {goal_id}")
    return goal


async def measure(
    session: AsyncSession, goal: Goal, now: datetime
) -> tuple[datetime, datetime, Judgement]:
    """The goal's period containing `now`, and how it stands."""
    start, end = period_bounds(Period(goal.period), now)
    window_end = min(end, max(now, start + timedelta(minutes=1)) + timedelta(minutes=1))
    result = await metrics.summary(
        session,
        EVALUATOR,
        brand_id=goal.brand_id,
        start=start,
        end=bucket_start(window_end, "m"),
        group_by=[],
        department=goal.department,
    )
    value = result[0][1][goal.metric] if result else None
    judged = judge(goal.metric, goal.target, _number(value), start=start, end=end, now=now)
    return start, end, judged


def _number(value: float | int | None) -> float | None:
    return float(value) if value is not None else None


async def read(session: AsyncSession, goal: Goal, now: datetime | None = None) -> GoalRead:
    start, end, judged = await measure(session, goal, now or datetime.now(UTC))
    return GoalRead(
        id=goal.id,
        brand_id=goal.brand_id,
        department=goal.department,
        name=goal.name,
        metric=goal.metric,
        direction=METRICS[goal.metric].direction,
        target=goal.target,
        period=Period(goal.period),
        created_at=goal.created_at,
        updated_at=goal.updated_at,
        attainment=Attainment(
            period_start=start,
            period_end=end,
            value=judged.value,
            projected=judged.projected,
            attainment_percent=judged.attainment,
            status=judged.status,
        ),
    )


async def create(session: AsyncSession, principal: Principal, data: GoalCreate) -> Goal:
    ensure_brand_writable(principal, data.brand_id)
    _ensure_department(principal, data.department)
    now = datetime.now(UTC)
    goal = Goal(
        id=random_uuid(),
        brand_id=data.brand_id,
        department=data.department,
        name=data.name,
        metric=str(data.metric.value),
        target=data.target,
        period=data.period.value,
        created_at=now,
        updated_at=now,
    )
    session.add(goal)
    await session.flush()
    await evaluate(session, goal, now)
    return goal


async def update(
    session: AsyncSession, principal: Principal, goal_id: str, data: GoalUpdate
) -> Goal:
    goal = await get_visible(session, principal, goal_id, for_update=True)
    _ensure_department(principal, goal.department)
    if data.name is not None:
        goal.name = data.name
    if data.target is not None:
        goal.target = data.target
    if data.period is not None:
        goal.period = data.period.value
    goal.updated_at = datetime.now(UTC)
    await session.flush()
    await evaluate(session, goal, goal.updated_at)
    return goal


async def delete(session: AsyncSession, principal: Principal, goal_id: str) -> None:
    goal = await get_visible(session, principal, goal_id, for_update=True)
    _ensure_department(principal, goal.department)
    now = datetime.now(UTC)
    if goal.alert_id is not None:
        await _resolve(session, goal, now, "goal_deleted")
    await session.delete(goal)
    await session.flush()


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    after: str | None,
    size: int,
) -> Sequence[Goal]:
    return await repository.page(session, principal, brand_id=brand_id, after=after, size=size)


# ------------------------------------------------------------------ evaluation and alerts


async def evaluate(session: AsyncSession, goal: Goal, now: datetime) -> GoalStatus:
    """Judge the goal now; on a change of status resolve the open alert and, when it turned
    at risk or missed, raise a new one. A period that ended since the last evaluation is judged
    as over first (so a goal that ended missed says so once)."""
    if goal.period_start is not None:
        current_start, _ = period_bounds(Period(goal.period), now)
        if goal.period_start < current_start:
            _, previous_end = period_bounds(Period(goal.period), goal.period_start)
            start, end, judged = await measure(session, goal, previous_end - timedelta(seconds=1))
            over = judge(goal.metric, goal.target, judged.value, start=start, end=end, now=end)
            await _transition(session, goal, over, start, end, now)
    start, end, judged = await measure(session, goal, now)
    await _transition(session, goal, judged, start, end, now)
    goal.evaluated_at = now
    await session.flush()
    return judged.status


async def _transition(
    session: AsyncSession,
    goal: Goal,
    judged: Judgement,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    previous = goal.status
    goal.period_start = start
    if previous == judged.status.value:
        return
    goal.status = judged.status.value
    if goal.alert_id is not None:
        await _resolve(
            session,
            goal,
            now,
            "recovered" if judged.status == GoalStatus.on_track else "status_changed",
        )
    if judged.status == GoalStatus.on_track:
        return
    spanish, english = _TITLES[judged.status]
    label = goal.name or goal.metric
    value = "—" if judged.value is None else f"{judged.value:g}"
    alert = AlertRaised(
        alert_id=random_uuid(),
        brand_id=goal.brand_id,
        kind=AlertKind.goal,
        severity=AlertSeverity.critical
        if judged.status == GoalStatus.missed
        else AlertSeverity.warning,
        title=f"{spanish} / {english}: {label}",
        detail=(
            f"{goal.metric} = {value}; objetivo / target {goal.target:g}; "
            f"proyección / projection "
            f"{'—' if judged.projected is None else format(judged.projected, 'g')}"
            + (f"; departamento / department {goal.department}" if goal.department else "")
        ),
        metric=goal.metric,
        value=judged.value,
        threshold=goal.target,
        window_start=start,
        window_end=end,
        raised_at=now,
    )
    goal.alert_id = alert.alert_id
    await _publish(session, "alert.raised", goal.brand_id, alert)


async def _resolve(session: AsyncSession, goal: Goal, now: datetime, reason: str) -> None:
    assert goal.alert_id is not None
    resolved = AlertResolved(
        alert_id=goal.alert_id,
        brand_id=goal.brand_id,
        kind=AlertKind.goal,
        resolved_at=now,
        reason=reason,
    )
    goal.alert_id = None
    await _publish(session, "alert.resolved", goal.brand_id, resolved)


async def _publish(
    session: AsyncSession, event_type: str, brand_id: str, data: AlertRaised | AlertResolved
) -> None:
    envelope = Envelope(type=event_type, source="kpi", key=brand_id, data=data, subject="goal")
    await add_to_outbox(session, bus_tables, envelope)


async def evaluate_due(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """One pass of the evaluator over the goals (the oldest evaluated first)."""
    goals = await repository.due_for_evaluation(session, limit)
    for goal in goals:
        await evaluate(session, goal, now)
    return len(goals)
