"""What the case intake needs to know of a brand's routing configuration, for one poll.

`BrandRouting.route` is the decision for a new case (department, priority, tags, approval,
skills, SLA policy; spam closes the case), `account_for` the brand's social account an
interaction arrived on, `sla_for` the targets and calendar of a department at a priority.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import sla
from services.routing.cases.clocks import SlaPlan
from services.routing.intents import IntentPrediction
from services.routing.models import Account, Department, Responsibility, Rule, SlaPolicy
from services.routing.rules import (
    DEFAULT_RESPONSIBILITIES,
    DEFAULT_RULES,
    RoutingFacts,
    RuleActions,
    RuleConditions,
    RuleSet,
    RuleSpec,
    StoredRule,
    compile_rules,
    decide,
)
from shared.business_hours import BusinessCalendar, CalendarError
from shared.events.cases import Priority
from shared.events.interactions import Interaction

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
    notify: bool = False


@dataclass
class BrandRouting:
    """One brand's configuration as the intake uses it during one poll."""

    brand_id: str
    rules: RuleSet
    responsibilities: dict[str, str | None]
    calendars: dict[str, BusinessCalendar | None]  # department key → its business hours
    policies: dict[tuple[str, str], tuple[str, sla.SlaTargets]]  # (department, priority)
    accounts: dict[tuple[str, str], str]  # (connection id, channel) → account id
    policies_by_id: dict[str, sla.SlaTargets] = field(default_factory=dict)

    def route(
        self,
        interaction: Interaction,
        prediction: IntentPrediction | None,
        account_id: str | None,
        now: datetime,
    ) -> Routed:
        """The brand's rules over the interaction, then its responsibilities matrix."""
        intent = prediction.intent.value if prediction is not None else None
        calendar = self.calendars.get(self.responsibilities.get(intent or "other") or "")
        facts = RoutingFacts(
            brand_id=interaction.brand_id,
            channel=interaction.channel.value,
            account_id=account_id,
            lang=interaction.lang or (prediction.lang if prediction else None),
            intent=intent,
            intent_confidence=prediction.confidence if prediction else None,
            sentiment_label=interaction.sentiment.label.value if interaction.sentiment else None,
            sentiment_score=interaction.sentiment.score if interaction.sentiment else None,
            text=interaction.text,
            author_followers=interaction.author.followers,
            author_verified=interaction.author.verified,
            pii=interaction.flags.pii,
            outside_working_hours=calendar is not None and not calendar.is_open(now),
            now=now,
        )
        decision = decide(self.rules, facts, self.responsibilities, explain=False)
        return Routed(
            department=decision.department,
            priority=decision.priority,
            tags=decision.tags,
            requires_approval=decision.require_approval,
            skills=decision.skills_required,
            sla_policy_id=decision.sla_policy_id,
            closed=decision.close or decision.department is None,
            rule_ids=tuple(rule.id for rule in decision.matched),
            notify=decision.notify,
        )

    def account_for(self, connection_id: str | None, channel: str) -> str | None:
        if connection_id is None:
            return None
        return self.accounts.get((connection_id, channel))

    def sla_for(
        self, department: str | None, priority: Priority, policy_id: str | None = None
    ) -> SlaPlan | None:
        """The policy a rule named, else the department's at `priority`, else the default
        targets of the priority."""
        if department is None:
            return None
        calendar = self.calendars.get(department)
        if policy_id is not None and policy_id in self.policies_by_id:
            return SlaPlan(policy_id, self.policies_by_id[policy_id], calendar)
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
        for row in await session.scalars(select(Department).where(Department.brand_id == brand_id))
    }
    responsibilities: dict[str, str | None] = dict(DEFAULT_RESPONSIBILITIES)
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
        rules=await _rule_set(session, brand_id),
        policies_by_id=dict(policies.values()),
        responsibilities=responsibilities,
        calendars={row.key: department_calendar(row) for row in departments.values()},
        policies=policies,
        accounts=accounts,
    )


_compiled: dict[tuple[str, tuple[tuple[str, int], ...]], RuleSet] = {}
_DEFAULT_RULE_SET = compile_rules(
    [StoredRule(f"default-{spec.position}", 1, spec) for spec in DEFAULT_RULES]
)


async def _rule_set(session: AsyncSession, brand_id: str) -> RuleSet:
    """The brand's compiled rules (the defaults until it has rules of its own); compiled once
    per set of rule versions."""
    rows = list((await session.scalars(select(Rule).where(Rule.brand_id == brand_id))).all())
    if not rows:
        return _DEFAULT_RULE_SET
    fingerprint = tuple(sorted((row.id, row.version) for row in rows))
    cached = _compiled.get((brand_id, fingerprint))
    if cached is not None:
        return cached
    stored = []
    for row in rows:
        try:
            spec = RuleSpec(
                name=row.name,
                position=row.position,
                enabled=row.enabled,
                stop=row.stop,
                conditions=RuleConditions.model_validate(row.conditions or {}),
                actions=RuleActions.model_validate(row.actions or {}),
            )
        except ValueError:
            continue  # a rule stored before a stricter check: skipped, not a poison poll
        stored.append(StoredRule(row.id, row.version, spec))
    rule_set = compile_rules(stored)
    if len(_compiled) > 1000:
        _compiled.clear()
    _compiled[(brand_id, fingerprint)] = rule_set
    return rule_set
