"""What the case intake needs of a brand's routing configuration, over the team's cached
snapshot (`services.routing.team.snapshot.load_routing_config`).

`BrandRouting.route` is the decision for a new case (the brand's rules, then its
responsibilities matrix: department, priority, tags, approval, skills, SLA policy; spam closes
the case), `account_for` the brand's social account an interaction arrived on, `sla_for` the
targets and calendar of a department at a priority.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases.clocks import SlaPlan
from services.routing.intents import IntentPrediction
from services.routing.rules import RoutingFacts, decide
from services.routing.team.snapshot import RoutingConfig, load_routing_config
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


@dataclass(frozen=True, slots=True)
class BrandRouting:
    """One brand's configuration as the intake uses it during one poll."""

    config: RoutingConfig

    def route(
        self,
        interaction: Interaction,
        prediction: IntentPrediction | None,
        account_id: str | None,
        now: datetime,
    ) -> Routed:
        """The brand's rules over the interaction, then its responsibilities matrix."""
        config = self.config
        intent = prediction.intent.value if prediction is not None else None
        calendar = config.calendar(config.responsibilities.get(intent or "other"))
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
        decision = decide(config.rules, facts, config.responsibilities, explain=False)
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
        account = self.config.account_for(channel, connection_id=connection_id)
        return account.id if account is not None else None

    def sla_for(
        self, department: str | None, priority: Priority, policy_id: str | None = None
    ) -> SlaPlan | None:
        """The policy a rule named, else the department's at `priority`, else the default
        targets of the priority; counted in the department's calendar."""
        if department is None:
            return None
        config = self.config
        targets = config.sla_targets(department, priority, policy_id)
        if policy_id is None or policy_id not in config.sla_policies:
            policy = config.sla_policy(department, priority)
            policy_id = policy.id if policy is not None else None
        return SlaPlan(policy_id, targets, config.calendar(department))


async def load_brand_routing(session: AsyncSession, brand_id: str) -> BrandRouting:
    return BrandRouting(await load_routing_config(session, brand_id))
