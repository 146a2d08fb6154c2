"""A brand's routing rules: stored in order, versioned, checked against the brand's
departments and SLA policies, and tried out on an interaction without opening a case.

A rule with a department in its actions is that department's (a key limited to other
departments neither sees nor changes it; HR's only keys that may see HR); a rule without one
belongs to the whole brand: every key of the brand reads it, only keys without a department
limit change it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import assignment
from services.routing.intents import IntentClassifier, IntentInputError, TextTooLongError
from services.routing.models import Rule
from services.routing.rulebook import repository
from services.routing.rulebook.schemas import (
    CandidateRead,
    DecisionRead,
    ExplanationRead,
    IntentResult,
    MatchedRuleRead,
    RuleCreate,
    RulePatch,
    RuleRead,
    RuleTestRequest,
    RuleTestResponse,
)
from services.routing.rules import (
    Decision,
    RoutingFacts,
    RuleActions,
    RuleConditions,
    RuleSpec,
    StoredRule,
    compile_rules,
    decide,
)
from services.routing.team import repository as team_repository
from services.routing.team.exceptions import RuleNotFoundError, SlaPolicyNotFoundError
from services.routing.team.service import ensure_brand, resolve_departments
from services.routing.team.snapshot import (
    AccountConfig,
    RoutingConfig,
    load_routing_config,
    with_current_loads,
)
from shared.auth import (
    Principal,
    ensure_brand_visible,
    ensure_brand_writable,
    ensure_every_department,
)
from shared.business_hours import is_open
from shared.errors import AppError, NotFoundError, UnprocessableError
from shared.ids import random_uuid


def now() -> datetime:
    return datetime.now(UTC)


def rule_read(rule: Rule) -> RuleRead:
    return RuleRead(
        id=rule.id,
        brand_id=rule.brand_id,
        version=rule.version,
        name=rule.name,
        position=rule.position,
        enabled=rule.enabled,
        stop=rule.stop,
        conditions=RuleConditions.model_validate(rule.conditions),
        actions=RuleActions.model_validate(rule.actions),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _missing(rule_id: str) -> AppError:
    return RuleNotFoundError(
        f"no rule with id {rule_id}", f"no existe ninguna regla con id {rule_id}", field="rule_id"
    )


async def get_rule(session: AsyncSession, rule_id: str, principal: Principal) -> Rule:
    """The rule, or 404 when missing, of another brand or of a department the key may not see."""
    rule = await repository.get_rule(session, rule_id, principal)
    if rule is None:
        raise _missing(rule_id)
    return rule


def encode_cursor(rule: Rule) -> str:
    return base64.urlsafe_b64encode(f"{rule.position}|{rule.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position, rule_id = raw.split("|", 1)
        return int(position), rule_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UnprocessableError("the cursor is not one this list gave", field="cursor") from None


async def list_rules(
    session: AsyncSession,
    principal: Principal,
    brand_id: str,
    *,
    limit: int,
    cursor: str | None,
) -> list[Rule]:
    """The brand's rules the key may see, in evaluation order (defaults on first use)."""
    after = decode_cursor(cursor)
    if not principal.allows_brand(brand_id):
        return []
    await ensure_brand(session, brand_id)
    return await repository.list_rules(session, principal, brand_id, limit=limit, after=after)


async def _check_spec(
    session: AsyncSession, principal: Principal, brand_id: str, spec: RuleSpec
) -> None:
    """The departments and SLA policy a rule names must be the brand's (404 naming the field),
    and the key must be allowed to manage the rule's department."""
    department = spec.actions.department
    if department is None:
        ensure_every_department(principal, "a rule without a department")
    else:
        await resolve_departments(
            session, principal, brand_id, [department], field="actions.department"
        )
        # resolve_departments names the list position; a rule has one department.
    policy_id = spec.actions.sla_policy_id
    if policy_id is not None:
        policy = await team_repository.get_sla_policy(session, policy_id)
        if policy is None or policy.brand_id != brand_id:
            raise SlaPolicyNotFoundError(
                f"brand {brand_id} has no SLA policy {policy_id}",
                f"la marca {brand_id} no tiene la política de SLA {policy_id}",
                field="actions.sla_policy_id",
            )


async def _checked(
    session: AsyncSession, principal: Principal, brand_id: str, spec: RuleSpec
) -> None:
    try:
        await _check_spec(session, principal, brand_id, spec)
    except AppError as exc:
        if exc.extra.get("field") == "actions.department.0":
            exc.extra["field"] = "actions.department"
        raise


async def create_rule(session: AsyncSession, principal: Principal, data: RuleCreate) -> Rule:
    ensure_brand_writable(principal, data.brand_id)
    await ensure_brand(session, data.brand_id)
    await _checked(session, principal, data.brand_id, data)
    at = now()
    rule = Rule(
        id=random_uuid(),
        brand_id=data.brand_id,
        version=1,
        created_at=at,
        updated_at=at,
        **repository.rule_values(data),
    )
    session.add(rule)
    await session.flush()
    await team_repository.bump_config_version(session, data.brand_id)
    return rule


def _ensure_may_change(principal: Principal, rule: Rule) -> None:
    if rule.department is None:
        ensure_every_department(principal, "changing a rule without a department")


async def replace_rule(
    session: AsyncSession, principal: Principal, rule: Rule, spec: RuleSpec
) -> Rule:
    _ensure_may_change(principal, rule)
    await _checked(session, principal, rule.brand_id, spec)
    for name, value in repository.rule_values(spec).items():
        setattr(rule, name, value)
    return await _bumped(session, rule)


async def patch_rule(
    session: AsyncSession, principal: Principal, rule: Rule, data: RulePatch
) -> Rule:
    _ensure_may_change(principal, rule)
    if data.name is not None:
        rule.name = data.name
    if data.position is not None:
        rule.position = data.position
    if data.enabled is not None:
        rule.enabled = data.enabled
    if data.stop is not None:
        rule.stop = data.stop
    return await _bumped(session, rule)


async def _bumped(session: AsyncSession, rule: Rule) -> Rule:
    rule.version += 1
    rule.updated_at = now()
    await session.flush()
    await team_repository.bump_config_version(session, rule.brand_id)
    return rule


async def delete_rule(session: AsyncSession, principal: Principal, rule: Rule) -> None:
    _ensure_may_change(principal, rule)
    brand_id = rule.brand_id
    await repository.delete_rule(session, rule)
    await session.flush()
    await team_repository.bump_config_version(session, brand_id)


# ------------------------------------------------------------------------- trying rules out


def _classify(
    classifier: IntentClassifier, request: RuleTestRequest
) -> tuple[IntentResult, str | None]:
    interaction = request.interaction
    lang = interaction.lang if interaction.lang in ("es", "en") else None
    if request.intent is not None:
        return IntentResult(
            intent=request.intent, confidence=1.0, lang=interaction.lang, source="given"
        ), interaction.lang
    try:
        prediction = classifier.classify(interaction.text, lang)
    except IntentInputError as exc:
        spanish = (
            "el texto supera 64 KiB"
            if isinstance(exc, TextTooLongError)
            else "falta el texto (o indica una intención)"
        )
        raise UnprocessableError(
            f"interaction.text: {exc} (give the text, or an intent)",
            field="interaction.text",
            detail_es=f"interaction.text: {spanish}",
        ) from None
    return IntentResult(
        intent=prediction.intent,
        confidence=prediction.confidence,
        lang=prediction.lang,
        source="classified",
    ), interaction.lang or prediction.lang


async def test_rules(
    session: AsyncSession,
    principal: Principal,
    classifier: IntentClassifier,
    request: RuleTestRequest,
) -> RuleTestResponse:
    """Which rules match the interaction and what routing would decide, with its explanation
    and the member it would choose now. Nothing is stored (beyond a brand's defaults on its
    first use). Rules and members the key may not see are named as hidden."""
    ensure_brand_visible(
        principal,
        request.brand_id,
        NotFoundError(
            f"no brand {request.brand_id}",
            detail_es=f"no existe la marca {request.brand_id}",
            field="brand_id",
        ),
    )
    config = await load_routing_config(session, request.brand_id)
    intent, lang = _classify(classifier, request)
    interaction = request.interaction
    at = interaction.created_at or now()
    account = config.account_for(
        interaction.channel.value,
        external_account_id=interaction.account_id,
        connection_id=interaction.connection_id,
    )
    owner = config.responsibilities.get(intent.intent.value)
    calendar = config.calendar(owner)
    outside = not is_open(calendar, at) if calendar is not None else False
    facts = RoutingFacts(
        brand_id=request.brand_id,
        channel=interaction.channel.value,
        account_id=interaction.account_id,
        lang=lang,
        intent=intent.intent.value,
        intent_confidence=intent.confidence,
        sentiment_label=interaction.sentiment.label.value if interaction.sentiment else None,
        sentiment_score=interaction.sentiment.score if interaction.sentiment else None,
        text=interaction.text,
        author_followers=interaction.author.followers,
        author_verified=interaction.author.verified,
        pii=interaction.flags.pii,
        vip=request.vip,
        known_author=request.known_author,
        outside_working_hours=outside,
        now=at,
    )
    if request.rules is not None:
        ruleset = compile_rules(
            [
                StoredRule(id=f"draft-{position}", version=0, spec=spec)
                for position, spec in enumerate(request.rules)
            ]
        )
        visible = {rule.id for rule in ruleset.rules}
    else:
        ruleset = config.rules
        visible = await repository.visible_rule_ids(session, principal, request.brand_id)
    decision = decide(ruleset, facts, config.responsibilities, explain=True)
    matched = [
        MatchedRuleRead(id=rule.id, version=rule.version, name=rule.name)
        if rule.id in visible
        else MatchedRuleRead(id=None, version=None, name="(hidden / oculta)")
        for rule in decision.matched
    ]
    explanation = []
    for line in decision.explanation:
        if line.rule_id is not None and line.rule_id not in visible:
            continue
        explanation.append(
            ExplanationRead(
                rule_id=line.rule_id,
                matched=line.matched,
                code=line.code,
                text=line.text(request.lang) if request.lang else None,
                en=None if request.lang else line.en,
                es=None if request.lang else line.es,
            )
        )
    assignee, candidates = await _candidates(session, principal, config, decision, facts, account)
    return RuleTestResponse(
        intent=intent,
        account_id=account.id if account else None,
        outside_working_hours=outside,
        matched=matched,
        decision=DecisionRead(
            department=decision.department,
            department_source=decision.department_source,
            priority=decision.priority,
            tags=list(decision.tags),
            sla_policy_id=decision.sla_policy_id,
            require_approval=decision.require_approval,
            skills_required=list(decision.skills_required),
            notify=decision.notify,
            close=decision.close,
        ),
        explanation=explanation,
        assignee=assignee,
        candidates=candidates,
    )


async def _candidates(
    session: AsyncSession,
    principal: Principal,
    config: RoutingConfig,
    decision: Decision,
    facts: RoutingFacts,
    account: AccountConfig | None,
) -> tuple[str | None, list[CandidateRead]]:
    department = decision.department
    if department is None or decision.close:
        return None, []
    group = config.candidates_by_department.get(department, ())
    current = await with_current_loads(session, group)
    at = facts.now or now()
    lang = facts.lang if facts.lang in ("es", "en") else None
    account_id = account.id if account is not None else None
    chosen = assignment.choose(current, department, account_id, lang, decision.skills_required, at)
    visible = await team_repository.visible_member_ids(
        session, [c.member_id for c in current], principal
    )
    rows = [
        CandidateRead(
            member_id=item.member_id,
            eligible=item.eligible,
            reasons=[reason.value for reason in item.reasons],
            en=item.describe("en"),
            es=item.describe("es"),
        )
        for item in assignment.eligible(
            current, department, account_id, lang, decision.skills_required, at
        )
        if item.member_id in visible
    ]
    assignee = chosen.member_id if chosen is not None and chosen.member_id in visible else None
    return assignee, rows
