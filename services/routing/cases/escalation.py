"""Crisis alerts escalate the brand's matching open cases: PR owns them, urgent, every reply
approved first (DESIGN.md: in a crisis, listen closely)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases import assigning, clocks, repository
from services.routing.cases.brand_routing import load_brand_routing
from services.routing.cases.events import CaseChanges
from services.routing.cases.models import Case
from shared.bus.tables import BusTables
from shared.events.alerts import AlertKind, AlertRaised
from shared.events.cases import Priority
from shared.events.envelope import Envelope

CRISIS_DEPARTMENT = "pr"
CRISIS_TAG = "crisis"


def _escalated(case: Case) -> bool:
    return (
        case.department == CRISIS_DEPARTMENT
        and case.priority == Priority.urgent.value
        and case.requires_approval
    )


async def escalate_crisis(session: AsyncSession, tables: BusTables, envelope: Envelope) -> int:
    """Escalate what a crisis alert is about; return how many cases changed."""
    alert = envelope.data
    if not isinstance(alert, AlertRaised) or alert.kind is not AlertKind.crisis:
        return 0
    cases = await repository.open_cases_for_alert(
        session,
        alert.brand_id,
        thread_keys=alert.thread_keys,
        channels=alert.channels,
        intents=alert.intents,
        keywords=alert.keywords,
    )
    targets = [case for case in cases if not _escalated(case)]
    if not targets:
        return 0
    brand = await load_brand_routing(session, alert.brand_id)
    changes = CaseChanges(tables)
    actor = f"alert:{alert.alert_id}"
    reassign: list[Case] = []
    for case in targets:
        before = {
            "department": case.department,
            "priority": case.priority,
            "requires_approval": case.requires_approval,
        }
        previous_department, previous_assignee = case.department, case.assignee_id
        if case.department != CRISIS_DEPARTMENT:
            await assigning.release(session, case)
            await repository.dequeue(session, [case.id])
            case.assignee_id = None
            case.department = CRISIS_DEPARTMENT
        case.priority = Priority.urgent.value
        case.requires_approval = True
        if CRISIS_TAG not in (case.tags or []):
            case.tags = [*(case.tags or []), CRISIS_TAG]
        case.version += 1
        clocks.apply_plan(case, brand.sla_for(case.department, Priority.urgent))
        changes.record(
            case,
            "escalated",
            actor=actor,
            changes={name: [value, getattr(case, name)] for name, value in before.items()},
            note=alert.title,
        )
        changes.publish(
            "case.escalated",
            case,
            actor=actor,
            previous_department=previous_department,
            previous_assignee_id=previous_assignee,
            changed=[name for name, value in before.items() if value != getattr(case, name)],
            note=alert.title,
        )
        if case.assignee_id is None:
            reassign.append(case)
    await session.flush()
    await assigning.assign_or_queue(session, changes, alert.brand_id, reassign)
    await changes.write(session)
    return len(targets)
