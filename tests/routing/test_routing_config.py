"""The routing snapshot's lookups (pure): the account an interaction reached, SLA targets."""

from __future__ import annotations

from types import MappingProxyType

from services.routing.rules import compile_rules
from services.routing.sla import DEFAULT_TARGETS, SlaTargets
from services.routing.team.snapshot import AccountConfig, RoutingConfig, SlaPolicyConfig
from shared.events.cases import Priority


def account(
    account_id: str,
    channel: str,
    external: str,
    connection: str | None = None,
    enabled: bool = True,
) -> AccountConfig:
    return AccountConfig(
        id=account_id,
        platform="meta",
        channel=channel,
        external_account_id=external,
        connection_id=connection,
        enabled=enabled,
    )


def account_id(found: AccountConfig | None) -> str | None:
    return found.id if found is not None else None


def config(*accounts: AccountConfig, policies: tuple[SlaPolicyConfig, ...] = ()) -> RoutingConfig:
    return RoutingConfig(
        brand_id="acme",
        version=1,
        rules=compile_rules([]),
        responsibilities=MappingProxyType({}),
        departments=MappingProxyType({}),
        sla_policies=MappingProxyType({policy.id: policy for policy in policies}),
        accounts=accounts,
        candidates=(),
        candidates_by_department=MappingProxyType({}),
        _policies_by_department=MappingProxyType(
            {(policy.department, policy.priority): policy for policy in policies}
        ),
    )


def test_account_for_by_external_id_connection_or_the_only_one() -> None:
    snapshot = config(
        account("a1", "instagram", "178", "c1"),
        account("a2", "instagram", "179", "c2"),
        account("a3", "x", "448", "c3"),
        account("a4", "x", "449", "c3", enabled=False),
    )
    assert account_id(snapshot.account_for("instagram", external_account_id="179")) == "a2"
    assert snapshot.account_for("instagram", external_account_id="999") is None
    assert account_id(snapshot.account_for("instagram", connection_id="c1")) == "a1"
    # Two enabled accounts on the channel and no hint: none is guessed.
    assert snapshot.account_for("instagram") is None
    # The disabled one does not count: the only enabled x account is the answer.
    assert account_id(snapshot.account_for("x")) == "a3"
    assert snapshot.account_for("x", external_account_id="449") is None
    assert snapshot.account_for("facebook") is None


def test_sla_targets_from_rule_policy_department_policy_or_defaults() -> None:
    urgent_cs = SlaPolicyConfig(
        id="p1",
        department="customer_service",
        priority=Priority.urgent,
        targets=SlaTargets(first_response_seconds=300),
    )
    special = SlaPolicyConfig(
        id="p2",
        department="pr",
        priority=Priority.low,
        targets=SlaTargets(first_response_seconds=60, business_hours=True),
    )
    snapshot = config(policies=(urgent_cs, special))
    assert snapshot.sla_targets("customer_service", Priority.urgent) is urgent_cs.targets
    assert snapshot.sla_targets("customer_service", Priority.high) is DEFAULT_TARGETS[Priority.high]
    assert snapshot.sla_targets(None, Priority.normal) is DEFAULT_TARGETS[Priority.normal]
    assert snapshot.sla_targets("sales", Priority.low, policy_id="p2") is special.targets
    assert (
        snapshot.sla_targets("sales", Priority.low, policy_id="gone")
        is DEFAULT_TARGETS[Priority.low]
    )
