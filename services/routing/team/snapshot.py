"""A brand's routing configuration as one typed, immutable snapshot, cached per brand.

`load_routing_config(session, brand_id)` is what case routing calls for each interaction: the
compiled rules, the responsibilities matrix, the departments with their calendars, the SLA
policies and the members as assignment candidates. It reads the brand's configuration version
(one primary-key lookup) and answers from the cache while the version is the one it was built
at; every change through the team or rules API bumps the version in its own transaction, so
every replica sees a change on its next call.

What moves between versions — a member's open cases and last assignment, written by case
assignment itself — is as of the snapshot's load; `with_current_loads` re-reads it for the
candidates about to be chosen from (under the assignment's own locking).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.assignment import Availability, Candidate
from services.routing.models import Rule
from services.routing.rulebook import repository as rules_repository
from services.routing.rules import (
    RuleActions,
    RuleConditions,
    RuleSet,
    RuleSpec,
    StoredRule,
    compile_rules,
)
from services.routing.sla import DEFAULT_TARGETS, SlaTargets
from services.routing.team import repository
from shared.business_hours import BusinessCalendar
from shared.events.cases import Priority

CACHE_BRANDS = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentConfig:
    id: str
    key: str
    name_es: str
    name_en: str
    enabled: bool
    calendar: BusinessCalendar

    def name(self, lang: str = "en") -> str:
        return self.name_es if lang == "es" else self.name_en


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountConfig:
    id: str
    platform: str
    channel: str
    external_account_id: str
    connection_id: str | None
    enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaPolicyConfig:
    id: str
    department: str
    priority: Priority
    targets: SlaTargets


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingConfig:
    """Everything routing needs to decide for one brand, as of configuration `version`."""

    brand_id: str
    version: int
    rules: RuleSet
    responsibilities: Mapping[str, str | None]  # intent -> department key (None: closed)
    departments: Mapping[str, DepartmentConfig]  # by key
    sla_policies: Mapping[str, SlaPolicyConfig]  # by id
    accounts: tuple[AccountConfig, ...]
    candidates: tuple[Candidate, ...]
    candidates_by_department: Mapping[str, tuple[Candidate, ...]]
    _policies_by_department: Mapping[tuple[str, Priority], SlaPolicyConfig] = field(
        default_factory=dict, repr=False
    )

    def calendar(self, department: str | None) -> BusinessCalendar | None:
        found = self.departments.get(department) if department else None
        return found.calendar if found else None

    def sla_policy(self, department: str | None, priority: Priority) -> SlaPolicyConfig | None:
        if department is None:
            return None
        return self._policies_by_department.get((department, priority))

    def sla_targets(
        self, department: str | None, priority: Priority, policy_id: str | None = None
    ) -> SlaTargets:
        """The targets a case gets: the rule's policy, else the department's for the
        priority, else the defaults for the priority."""
        if policy_id is not None and policy_id in self.sla_policies:
            return self.sla_policies[policy_id].targets
        policy = self.sla_policy(department, priority)
        return policy.targets if policy else DEFAULT_TARGETS[priority]

    def account_for(
        self,
        channel: str,
        *,
        external_account_id: str | None = None,
        connection_id: str | None = None,
    ) -> AccountConfig | None:
        """The brand's enabled account for an interaction: by its platform account id, else the
        only enabled account of the channel on the connection (or of the channel at all)."""
        of_channel = [a for a in self.accounts if a.channel == channel and a.enabled]
        if external_account_id is not None:
            for account in of_channel:
                if account.external_account_id == external_account_id:
                    return account
            return None
        if connection_id is not None:
            on_connection = [a for a in of_channel if a.connection_id == connection_id]
            if len(on_connection) == 1:
                return on_connection[0]
            if on_connection:
                return None
        return of_channel[0] if len(of_channel) == 1 else None


def stored_rule(rule: Rule) -> StoredRule:
    return StoredRule(
        id=rule.id,
        version=rule.version,
        spec=RuleSpec(
            name=rule.name,
            position=rule.position,
            enabled=rule.enabled,
            stop=rule.stop,
            conditions=RuleConditions.model_validate(rule.conditions),
            actions=RuleActions.model_validate(rule.actions),
        ),
    )


def _holidays(days: Sequence[str]) -> list[date]:
    return [date.fromisoformat(day) for day in days]


async def build_routing_config(session: AsyncSession, brand_id: str, version: int) -> RoutingConfig:
    """Read the brand's whole configuration (a handful of queries) into a snapshot."""
    departments = {
        row.key: DepartmentConfig(
            id=row.id,
            key=row.key,
            name_es=row.name_es,
            name_en=row.name_en,
            enabled=row.enabled,
            calendar=BusinessCalendar(row.timezone, row.weekly_hours, _holidays(row.holidays)),
        )
        for row in await repository.list_departments(session, brand_id)
    }
    key_of = {department.id: key for key, department in departments.items()}
    responsibilities = {
        row.intent: key_of.get(row.department_id) if row.department_id else None
        for row in await repository.list_responsibilities(session, brand_id)
    }
    policies = {
        policy.id: SlaPolicyConfig(
            id=policy.id,
            department=key,
            priority=Priority(policy.priority),
            targets=SlaTargets(
                first_response_seconds=policy.first_response_seconds,
                next_response_seconds=policy.next_response_seconds,
                resolution_seconds=policy.resolution_seconds,
                business_hours=policy.business_hours,
            ),
        )
        for policy, key in await repository.brand_sla_policies(session, brand_id)
    }
    accounts = tuple(
        AccountConfig(
            id=row.id,
            platform=row.platform,
            channel=row.channel,
            external_account_id=row.external_account_id,
            connection_id=row.connection_id,
            enabled=row.enabled,
        )
        for row in await repository.brand_accounts(session, brand_id)
    )
    member_departments: dict[str, set[str]] = {}
    for member_id, key in await repository.member_departments_of_brand(session, brand_id):
        member_departments.setdefault(member_id, set()).add(key)
    replying: dict[str, set[str]] = {}
    for grant in await repository.brand_grants(session, brand_id):
        if grant.can_reply:
            replying.setdefault(grant.member_id, set()).add(grant.account_id)
    candidates = tuple(
        Candidate(
            member_id=member.id,
            departments=frozenset(member_departments.get(member.id, ())),
            languages=frozenset(member.languages),
            skills=frozenset(member.skills),
            account_ids=frozenset(replying.get(member.id, ())),
            open_cases=member.open_cases,
            capacity=member.capacity,
            availability=Availability(member.availability),
            calendar=BusinessCalendar(
                member.timezone, member.weekly_hours, _holidays(member.holidays)
            )
            if member.weekly_hours
            else None,
            last_assigned_at=member.last_assigned_at,
        )
        for member in await repository.brand_members(session, brand_id)
    )
    by_department: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        for key in candidate.departments:
            by_department.setdefault(key, []).append(candidate)
    rules = compile_rules(
        [stored_rule(rule) for rule in await rules_repository.brand_rules(session, brand_id)]
    )
    return RoutingConfig(
        brand_id=brand_id,
        version=version,
        rules=rules,
        responsibilities=MappingProxyType(responsibilities),
        departments=MappingProxyType(departments),
        sla_policies=MappingProxyType(policies),
        accounts=accounts,
        candidates=candidates,
        candidates_by_department=MappingProxyType(
            {key: tuple(group) for key, group in by_department.items()}
        ),
        _policies_by_department=MappingProxyType(
            {(policy.department, policy.priority): policy for policy in policies.values()}
        ),
    )


class RoutingConfigCache:
    """Snapshots per (database, brand), newest `CACHE_BRANDS` brands kept."""

    def __init__(self, size: int = CACHE_BRANDS) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], RoutingConfig] = OrderedDict()
        self.loads = 0  # snapshots built (for tests and metrics)

    def clear(self) -> None:
        self._entries.clear()

    async def get(self, session: AsyncSession, brand_id: str) -> RoutingConfig:
        # Imported here: the team service imports this module's neighbours.
        from services.routing.team.service import ensure_brand

        bind = session.bind
        database = str(bind.engine.url) if bind is not None else ""
        key = (database, brand_id)
        version = await repository.config_version(session, brand_id)
        cached = self._entries.get(key)
        if cached is not None and cached.version == version:
            self._entries.move_to_end(key)
            return cached
        if version == 0:
            await ensure_brand(session, brand_id)
            version = await repository.config_version(session, brand_id)
        config = await build_routing_config(session, brand_id, version)
        self.loads += 1
        self._entries[key] = config
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return config


routing_config_cache = RoutingConfigCache()


async def load_routing_config(session: AsyncSession, brand_id: str) -> RoutingConfig:
    """The brand's routing configuration (defaults set up on the brand's first use; the caller's
    transaction commits them)."""
    return await routing_config_cache.get(session, brand_id)


async def with_current_loads(
    session: AsyncSession, candidates: Sequence[Candidate]
) -> list[Candidate]:
    """The candidates with their open cases, last assignment and availability as stored now."""
    loads = await repository.member_loads(session, [c.member_id for c in candidates])
    current = []
    for candidate in candidates:
        found = loads.get(candidate.member_id)
        if found is None:
            continue  # deleted since the snapshot
        open_cases, last_assigned_at, availability = found
        current.append(
            dataclasses.replace(
                candidate,
                open_cases=open_cases,
                last_assigned_at=last_assigned_at,
                availability=Availability(availability),
            )
        )
    return current
