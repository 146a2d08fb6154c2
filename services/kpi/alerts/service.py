"""Alerts: run the detectors over each event inside the consumer's transaction, keep what they
raise and resolve, and stage `alert.raised` / `alert.resolved` in the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.alerts import repository
from services.kpi.alerts.detector import (
    CrisisConfig,
    CrisisDetector,
    CrisisState,
    Decision,
    Observation,
    Raised,
    Resolved,
    SlaBurstDetector,
    SlaBurstState,
    minute_of,
    moment_of,
)
from services.kpi.alerts.exceptions import AlertNotFoundError
from services.kpi.alerts.models import AlertRecord
from services.kpi.alerts.schemas import AlertRead, AlertStatus
from services.kpi.ideas.keyphrases import keyphrases
from services.kpi.models import bus_tables
from services.routing.intents import Intent, IntentPrediction
from shared.auth import Principal, ensure_brand_visible
from shared.bus.outbox import add_to_outbox
from shared.events.alerts import AlertKind, AlertRaised, AlertResolved, AlertSeverity
from shared.events.cases import CaseEvent
from shared.events.envelope import Envelope
from shared.events.interactions import Interaction, SentimentLabel

SOURCE = "/socialcare/kpi"
CRISIS_SCOPE = "crisis"
EVENT_NAMESPACE = uuid.UUID("a3c1d2e4-5f60-4a1b-8c9d-0e1f2a3b4c5d")


def observation_of(
    interaction: Interaction, prediction: IntentPrediction | None, author_key: str | None
) -> Observation:
    negative = (
        interaction.sentiment is not None and interaction.sentiment.label == SentimentLabel.negative
    )
    lang = interaction.lang or (prediction.lang if prediction else None)
    phrases = keyphrases(interaction.text, lang) if negative else []
    return Observation(
        minute=minute_of(interaction.created_at),
        interaction_id=interaction.id,
        negative=negative,
        crisis_intent=prediction is not None and prediction.intent == Intent.crisis,
        channel=interaction.channel.value,
        thread_key=interaction.thread_key,
        lang=lang,
        author=author_key,
        followers=interaction.author.followers or 0,
        keyphrases=tuple((phrase.key, phrase.surface) for phrase in phrases[:12]),
    )


async def observe_interaction(
    session: AsyncSession,
    interaction: Interaction,
    prediction: IntentPrediction | None,
    config: CrisisConfig,
) -> list[Decision]:
    """Fold one inbound post into its brand's crisis detector."""
    if interaction.flags.own_message:
        return []
    author = interaction.author.external_id
    author_key = f"{interaction.channel.value}:{author}" if author else None
    row = await repository.lock_state(session, interaction.brand_id, CRISIS_SCOPE)
    detector = CrisisDetector(
        interaction.brand_id, config=config, state=CrisisState.model_validate(row.state)
    )
    decisions = detector.observe(observation_of(interaction, prediction, author_key))
    row.state = detector.state.model_dump(mode="json")
    # Now: the next event of this transaction reloads the row (sessions do not autoflush).
    await session.flush()
    await _apply(session, interaction.brand_id, None, decisions)
    return decisions


async def observe_case(session: AsyncSession, event_type: str, case: CaseEvent) -> list[Decision]:
    """SLA breaches count towards their department's burst detector."""
    if event_type != "case.sla_breached" or case.department is None:
        return []
    scope = f"sla:{case.department}"
    row = await repository.lock_state(session, case.brand_id, scope)
    detector = SlaBurstDetector(
        case.brand_id, case.department, state=SlaBurstState.model_validate(row.state)
    )
    decisions = detector.observe(
        minute_of(case.occurred_at),
        case_id=case.case_id,
        thread_key=case.thread_key,
        channel=case.channel.value,
    )
    row.state = detector.state.model_dump(mode="json")
    # Now: the next event of this transaction reloads the row (sessions do not autoflush).
    await session.flush()
    await _apply(session, case.brand_id, case.department, decisions)
    return decisions


async def resolve_cleared(
    session: AsyncSession, now: datetime, config: CrisisConfig
) -> list[Decision]:
    """The periodic check: time has passed to `now` for every detector with an active alert,
    so one whose condition cleared resolves though no event came. Rows are locked (another
    replica skips them) and the resolution's event id is derived from the alert, so each
    alert resolves once."""
    minute = minute_of(now)
    decisions: list[Decision] = []
    for row in await repository.states_to_check(session):
        if row.scope == CRISIS_SCOPE:
            crisis = CrisisDetector(
                row.brand_id, config=config, state=CrisisState.model_validate(row.state)
            )
            if not crisis.active:
                continue
            found = crisis.tick(minute)
            row.state, department = crisis.state.model_dump(mode="json"), None
        elif row.scope.startswith("sla:"):
            department = row.scope.removeprefix("sla:")
            burst = SlaBurstDetector(
                row.brand_id, department, state=SlaBurstState.model_validate(row.state)
            )
            if burst.state.breaches.active is None:
                continue
            found = burst.tick(minute)
            row.state = burst.state.model_dump(mode="json")
        else:
            continue
        if found:
            await session.flush()
            await _apply(session, row.brand_id, department, found)
            decisions += found
    return decisions


# --------------------------------------------------------------------------- titles, events


def titles(raised: Raised, department: str | None) -> tuple[str, str]:
    """(es, en) titles for a person."""
    figures = raised.figures
    minutes = figures.window_minutes
    if raised.metric == "negative_share":
        share = f"{(figures.share or 0) * 100:.0f} %"
        return (
            f"Posible crisis: {figures.hits} menciones negativas en {minutes} min "
            f"({share} del total)",
            f"Possible crisis: {figures.hits} negative mentions in {minutes} min ({share} of all)",
        )
    if raised.metric == "crisis_intents":
        return (
            f"Posible crisis: {figures.hits} mensajes de crisis en {minutes} min",
            f"Possible crisis: {figures.hits} crisis messages in {minutes} min",
        )
    if raised.metric == "author_reach":
        followers = f"{raised.followers or 0:,}"
        return (
            f"Una cuenta con {followers.replace(',', '.')} seguidores publica en negativo",
            f"An account with {followers} followers posts negatively",
        )
    return (
        f"{figures.hits} SLA incumplidos en {minutes} min en {department}",
        f"{figures.hits} SLA breaches in {minutes} min in {department}",
    )


def _kind(metric: str) -> AlertKind:
    return AlertKind.sla_burst if metric == "sla_breaches" else AlertKind.crisis


def _severity(raised: Raised) -> AlertSeverity:
    if raised.metric == "author_reach":
        return AlertSeverity.warning
    return (
        AlertSeverity.critical
        if raised.figures.hits >= 2 * raised.figures.threshold
        else AlertSeverity.warning
    )


def _event_id(alert_id: str, what: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{alert_id}|{what}"))


async def _apply(
    session: AsyncSession, brand_id: str, department: str | None, decisions: list[Decision]
) -> None:
    for decision in decisions:
        if isinstance(decision, Raised):
            await _raise(session, brand_id, department, decision)
        else:
            await _resolve(session, decision)


async def _raise(
    session: AsyncSession, brand_id: str, department: str | None, raised: Raised
) -> None:
    if await repository.get_alert(session, raised.alert_id) is not None:
        return  # raised already (a replay of the same stream)
    title_es, title_en = titles(raised, department)
    lang = raised.langs[0] if raised.langs and raised.langs[0] in ("es", "en") else "en"
    is_sla = raised.metric == "sla_breaches"
    figures = raised.figures
    value = float(raised.followers or 0) if raised.metric == "author_reach" else float(figures.hits)
    record = AlertRecord(
        id=raised.alert_id,
        brand_id=brand_id,
        kind=_kind(raised.metric).value,
        metric=raised.metric,
        department=department,
        status=AlertStatus.active.value,
        severity=_severity(raised).value,
        title_es=title_es,
        title_en=title_en,
        lang=lang,
        value=value,
        threshold=figures.threshold,
        figures={
            "window_minutes": figures.window_minutes,
            "hits": figures.hits,
            "total": figures.total,
            "share": figures.share,
            "expected": figures.expected,
            "threshold": figures.threshold,
            "share_threshold": figures.share_threshold,
            "followers": raised.followers,
        },
        interaction_ids=[] if is_sla else list(raised.interaction_ids),
        case_ids=list(raised.interaction_ids) if is_sla else [],
        keywords=list(raised.keywords),
        channels=list(raised.channels),
        intents=["crisis"] if raised.metric == "crisis_intents" else [],
        thread_keys=list(raised.thread_keys),
        window_start=moment_of(raised.window_start),
        window_end=moment_of(raised.window_end),
        raised_at=moment_of(raised.window_end),
    )
    repository.add_alert(session, record)
    await session.flush()
    detail_other = title_en if lang == "es" else title_es
    example_ids = ", ".join(record.interaction_ids or record.case_ids)
    event = AlertRaised(
        alert_id=record.id,
        brand_id=brand_id,
        kind=_kind(raised.metric),
        severity=AlertSeverity(record.severity),
        title=title_es if lang == "es" else title_en,
        detail=f"{detail_other}. Examples / ejemplos: {example_ids}",
        channels=record.channels,
        intents=record.intents,
        keywords=record.keywords,
        thread_keys=record.thread_keys,
        metric=raised.metric,
        value=value,
        threshold=figures.threshold,
        window_start=record.window_start,
        window_end=record.window_end,
        raised_at=record.raised_at,
    )
    await add_to_outbox(
        session,
        bus_tables,
        Envelope(
            type="alert.raised",
            source=SOURCE,
            key=brand_id,
            data=event,
            id=_event_id(record.id, "raised"),
            time=record.raised_at,
            subject=record.id,
        ),
    )


async def _resolve(session: AsyncSession, resolved: Resolved) -> None:
    record = await repository.get_alert(session, resolved.alert_id)
    if record is None or record.status == AlertStatus.resolved.value:
        return
    record.status = AlertStatus.resolved.value
    record.resolved_at = moment_of(resolved.minute)
    record.resolve_reason = resolved.reason
    await session.flush()
    await add_to_outbox(
        session,
        bus_tables,
        Envelope(
            type="alert.resolved",
            source=SOURCE,
            key=record.brand_id,
            data=AlertResolved(
                alert_id=record.id,
                brand_id=record.brand_id,
                kind=AlertKind(record.kind),
                resolved_at=record.resolved_at,
                reason=resolved.reason,
            ),
            id=_event_id(record.id, "resolved"),
            time=record.resolved_at,
            subject=record.id,
        ),
    )


# ------------------------------------------------------------------------------------- reads


def alert_read(record: AlertRecord) -> AlertRead:
    return AlertRead(
        id=record.id,
        brand_id=record.brand_id,
        kind=record.kind,
        metric=record.metric,
        department=record.department,
        status=AlertStatus(record.status),
        severity=record.severity,
        title=record.title_es if record.lang == "es" else record.title_en,
        title_es=record.title_es,
        title_en=record.title_en,
        value=record.value,
        threshold=record.threshold,
        figures=record.figures,
        interaction_ids=record.interaction_ids,
        case_ids=record.case_ids,
        keywords=record.keywords,
        channels=record.channels,
        thread_keys=record.thread_keys,
        window_start=record.window_start,
        window_end=record.window_end,
        raised_at=record.raised_at,
        resolved_at=record.resolved_at,
        resolve_reason=record.resolve_reason,
    )


async def list_alerts(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    status: AlertStatus | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[AlertRecord]:
    """Alerts the key may see: its brands; SLA bursts of its departments (HR's only for HR)."""
    visible: list[str] | None = None
    if principal.departments is not None and not principal.is_admin:
        visible = [
            department
            for department in principal.departments
            if principal.may_see_department(department)
        ]
    condition = repository.department_condition(
        visible, hide_hr=not principal.may_see_department("hr")
    )
    return list(
        await repository.list_alerts(
            session,
            brand_id=brand_id,
            brands=principal.brands,
            status=status.value if status else None,
            departments=condition,
            after=after,
            limit=limit,
        )
    )


async def get_alert(session: AsyncSession, principal: Principal, alert_id: str) -> AlertRead:
    missing = AlertNotFoundError(f"no alert {alert_id}", field="alert_id")
    record = await repository.get_alert(session, alert_id)
    if record is None:
        raise missing
    ensure_brand_visible(principal, record.brand_id, missing)
    if record.department is not None and not principal.may_see_department(record.department):
        raise missing
    return alert_read(record)
