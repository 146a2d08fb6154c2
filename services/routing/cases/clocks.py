"""A case's SLA clocks: deadlines from its policy (computed by `services.routing.sla`), kept on
the case, and what the scheduler has to do next.

Clocks run while the case is active: first response until the first reply, next response from
an inbound message the brand has not answered yet (after the first reply), resolution until the
case is resolved. A clock that breached keeps its breach (it is reported once) even when a new
priority moves its deadline; its at-risk mark is cleared when the deadline moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.routing import sla
from services.routing.cases.models import ACTIVE_STATUSES, AnyCase
from shared.business_hours import BusinessCalendar
from shared.events.cases import SlaKind

KINDS = (SlaKind.first_response, SlaKind.next_response, SlaKind.resolution)


@dataclass(frozen=True, slots=True)
class SlaPlan:
    """A department's targets at one priority and the calendar they are counted in."""

    policy_id: str | None
    targets: sla.SlaTargets
    calendar: BusinessCalendar | None


def _get(case: AnyCase, kind: SlaKind, what: str) -> datetime | None:
    value: datetime | None = getattr(case, f"{kind.value}_{what}")
    return value


def _set(case: AnyCase, kind: SlaKind, what: str, value: datetime | None) -> None:
    setattr(case, f"{kind.value}_{what}", value)


def _running(case: AnyCase, kind: SlaKind) -> bool:
    if case.status not in ACTIVE_STATUSES:
        return False
    if kind is SlaKind.first_response:
        return case.first_response_at is None
    if kind is SlaKind.next_response:
        answered = case.last_response_at
        return answered is not None and case.last_inbound_at > answered
    return True


def apply_plan(case: AnyCase, plan: SlaPlan | None) -> list[str]:
    """Set the case's deadlines from `plan` (none: no SLA); return the fields that changed."""
    changed: list[str] = []
    targets = plan.targets if plan is not None else None
    case.sla_policy_id = plan.policy_id if plan is not None else None
    case.sla_business_hours = bool(
        plan is not None and plan.targets.business_hours and plan.calendar is not None
    )
    # Each running clock's deadline and at-risk moment, from its start (the first inbound
    # message; the latest for next response): one walk over the calendar per start.
    wanted: dict[datetime, list[tuple[SlaKind, float, float]]] = {}
    for kind in KINDS:
        target = targets.target(kind) if targets is not None else None
        setattr(case, f"{kind.value}_target_seconds", target)
        if targets is not None and target is not None and _running(case, kind):
            start = case.last_inbound_at if kind is SlaKind.next_response else case.first_inbound_at
            wanted.setdefault(start, []).append((kind, target, target * targets.at_risk_fraction))
    moments: dict[SlaKind, tuple[datetime, datetime]] = {}
    if plan is not None and wanted:
        calendar = plan.calendar if plan.targets.business_hours else None
        for start, clocks in wanted.items():
            offsets = [seconds for _, due, risk in clocks for seconds in (due, risk)]
            found = sla.add_seconds_many(calendar, start, offsets)
            for position, (kind, _, _) in enumerate(clocks):
                moments[kind] = (found[2 * position], found[2 * position + 1])
    for kind in KINDS:
        due, risk = moments.get(kind, (None, None))
        if due != _get(case, kind, "due_at"):
            changed.append(f"sla.{kind.value}_due_at")
            _set(case, kind, "due_at", due)
            _set(case, kind, "risk_from", risk)
            if _get(case, kind, "breached_at") is None:
                _set(case, kind, "at_risk_at", None)
    schedule(case)
    return changed


def schedule(case: AnyCase) -> None:
    """`sla_next_check_at`: the earliest at-risk mark or breach still to come (None: nothing)."""
    moments: list[datetime] = []
    if case.status in ACTIVE_STATUSES:
        for kind in KINDS:
            due = _get(case, kind, "due_at")
            if due is None or _get(case, kind, "breached_at") is not None:
                continue
            risk = _get(case, kind, "risk_from")
            if risk is not None and _get(case, kind, "at_risk_at") is None and risk < due:
                moments.append(risk)
            else:
                moments.append(due)
    case.sla_next_check_at = min(moments) if moments else None


def stop_clocks(case: AnyCase) -> None:
    """Resolved or closed: nothing more is due."""
    case.sla_next_check_at = None


@dataclass(frozen=True, slots=True)
class ClockEvent:
    kind: SlaKind
    breached: bool  # False: turned at risk


def advance(case: AnyCase, now: datetime) -> list[ClockEvent]:
    """Mark what is due at `now` (at risk, breached) and reschedule; what to announce."""
    found: list[ClockEvent] = []
    for kind in KINDS:
        due = _get(case, kind, "due_at")
        if due is None or not _running(case, kind) or _get(case, kind, "breached_at") is not None:
            continue
        if due <= now:
            _set(case, kind, "breached_at", now)
            found.append(ClockEvent(kind, breached=True))
            continue
        risk = _get(case, kind, "risk_from")
        if risk is not None and risk <= now and _get(case, kind, "at_risk_at") is None:
            _set(case, kind, "at_risk_at", now)
            found.append(ClockEvent(kind, breached=False))
    schedule(case)
    return found
