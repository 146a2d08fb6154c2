"""What the case intake needs to know of a brand's routing configuration, for one poll.

`BrandRouting.route` is the decision for a new case (department, priority, tags, approval,
skills, SLA policy; spam closes the case), `account_for` the brand's social account an
interaction arrived on, `sla_for` the targets and calendar of a department at a priority.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import sla
from services.routing.cases.clocks import SlaPlan
from services.routing.intents import IntentPrediction
from services.routing.models import Account, Department, Responsibility, SlaPolicy
from shared.business_hours import BusinessCalendar, CalendarError
from shared.events.cases import Priority
from shared.events.interactions import Interaction

# DESIGN.md, Team model: who owns each intent when the brand has not changed the matrix.
DEFAULT_RESPONSIBILITIES: dict[str, str | None] = {
    "complaint": "customer_service",
    "service_request": "customer_service",
    "question": "customer_service",
    "purchase_intent": "sales",
    "press_inquiry": "pr",
    "crisis": "pr",
    "investor_relations": "corporate_comms",
    "partnership": "corporate_comms",
    "job_inquiry": "hr",
    "employee_matter": "hr",
    "praise": "marketing",
    "feedback_idea": "marketing",
    "other": "marketing",
    "spam": None,
}
HR_INTENTS = frozenset({"job_inquiry", "employee_matter"})
PRIORITY_RANK = {Priority.urgent: 0, Priority.high: 1, Priority.normal: 2, Priority.low: 3}


@dataclass(frozen=True, slots=True)
class Routed:
    """The decision for a new case."""

    department: str | None
    priority: Priority = Priority.normal
    tags: tuple[str, ...] = ()
    requires_approval: bool = False
    skills: tuple[str, ...] = ()
    sla_policy_id: str | None = None
    closed: bool = False
    rule_ids: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class BrandRouting:
    """One brand's configuration as the intake uses it during one poll."""

    brand_id: str
    responsibilities: dict[str, str | None]
    calendars: dict[str, BusinessCalendar | None]  # department key → its business hours
    policies: dict[tuple[str, str], tuple[str, sla.SlaTargets]]  # (department, priority)
    accounts: dict[tuple[str, str], str]  # (connection id, channel) → account id

    def route(self, interaction: Interaction, prediction: IntentPrediction | None) -> Routed:
        intent = prediction.intent.value if prediction is not None else "other"
        if intent == "spam":
            return Routed(department=None, closed=True, tags=("spam",))
        department = self.responsibilities.get(intent, DEFAULT_RESPONSIBILITIES.get(intent))
        if department is None:
            return Routed(department=None, closed=True)
        return Routed(department=department)

    def account_for(self, connection_id: str | None, channel: str) -> str | None:
        if connection_id is None:
            return None
        return self.accounts.get((connection_id, channel))

    def sla_for(self, department: str | None, priority: Priority) -> SlaPlan | None:
        """The department's policy at `priority`, else the default targets of the priority."""
        if department is None:
            return None
        calendar = self.calendars.get(department)
        stored = self.policies.get((department, priority.value))
        if stored is not None:
            policy_id, targets = stored
            return SlaPlan(policy_id, targets, calendar)
        return SlaPlan(None, sla.DEFAULT_TARGETS[priority], calendar)


def department_calendar(department: Department) -> BusinessCalendar | None:
    hours = department.weekly_hours or {}
    if not any(hours.values()):
        return None
    try:
        holidays = [date.fromisoformat(day) for day in department.holidays or []]
        return BusinessCalendar(department.timezone or "UTC", hours, holidays)
    except (CalendarError, ValueError):
        return None


async def load_brand_routing(session: AsyncSession, brand_id: str) -> BrandRouting:
    departments = {
        row.id: row
        for row in await session.scalars(
            select(Department).where(Department.brand_id == brand_id)
        )
    }
    responsibilities: dict[str, str | None] = {}
    for row in await session.scalars(
        select(Responsibility).where(Responsibility.brand_id == brand_id)
    ):
        owner = departments.get(row.department_id) if row.department_id else None
        responsibilities[row.intent] = owner.key if owner is not None else None
    policies: dict[tuple[str, str], tuple[str, sla.SlaTargets]] = {}
    for policy in await session.scalars(select(SlaPolicy).where(SlaPolicy.brand_id == brand_id)):
        owner = departments.get(policy.department_id)
        if owner is None:
            continue
        try:
            targets = sla.SlaTargets(
                first_response_seconds=policy.first_response_seconds,
                next_response_seconds=policy.next_response_seconds,
                resolution_seconds=policy.resolution_seconds,
                business_hours=policy.business_hours,
            )
        except ValueError:
            continue
        policies[(owner.key, policy.priority)] = (policy.id, targets)
    accounts = {
        (row.connection_id, row.channel): row.id
        for row in await session.scalars(
            select(Account).where(Account.brand_id == brand_id, Account.enabled.is_(True))
        )
        if row.connection_id is not None
    }
    return BrandRouting(
        brand_id=brand_id,
        responsibilities=responsibilities,
        calendars={row.key: department_calendar(row) for row in departments.values()},
        policies=policies,
        accounts=accounts,
    )
