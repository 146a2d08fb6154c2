"""Folding events into facts and rollups, one poll at a time, in the consumer's transaction.

Each fold locks the facts it changes, computes their rollup entries before and after, and adds
the difference to the rollups (services/kpi/rollups/). The fold is idempotent by state: a
repeated event (redelivered, or re-sent with a new id by a producer retry) changes nothing
twice, because snapshots keep the latest version, replies and checks are keyed by their own ids
and engagement by the event id, and rollups only ever move by the difference a fact's change
makes. So the fact consumer records no `processed_events` row per event (`FACTS_CLAIM_EVENTS`;
tests/kpi/test_rollup_property.py folds streams with duplicates without it).

The pure work of a poll's interactions (merging their events, the INSERT's parameters) is done
by `prepare_poll` before the transaction, while the consumer's previous transaction runs
(shared/bus/consumer.py). On PostgreSQL the transaction then writes the new facts and their
rollups in one statement (one round trip: the INSERT's RETURNING feeds the rollup upsert, so a
fact already stored adds nothing); only facts found stored are then locked, merged and their
change added. On SQLite the contributions are counted in Python as if every fact were new,
and those of the facts found stored taken back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts import repository
from services.kpi.facts.models import (
    CaseFact,
    CheckFact,
    EngagementFact,
    ReplyFact,
)
from services.kpi.facts.state import InteractionRow, as_tuple
from services.kpi.rollups import repository as rollups
from services.kpi.rollups.contributions import (
    case_entries,
    check_entries,
    engagement_entries,
    interaction_entries,
)
from services.kpi.rollups.measures import Delta, Entry
from shared.bulk import dialect_of
from shared.bus.consumer import Preparer, prepared_for
from shared.events.cases import CaseEvent, SlaKind
from shared.events.envelope import Envelope
from shared.events.guidelines import GuidelineCheckCompleted
from shared.events.interactions import EngagementRecorded, Interaction, InteractionDeleted
from shared.events.replies import ReplyEvent


def _newer(envelope: Envelope, version_at: datetime | None, version_id: str | None) -> bool:
    if version_at is None:
        return True
    return (envelope.time, envelope.id) > (version_at, version_id or "")


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _apply_interaction(
    row: InteractionRow, envelope: Envelope, data: Interaction | InteractionDeleted
) -> None:
    if isinstance(data, InteractionDeleted):
        row.deleted_at = _earliest(row.deleted_at, data.deleted_at)
    elif _newer(envelope, row.version_at, row.version_id):
        row.version_at, row.version_id = envelope.time, envelope.id
        row.brand_id = data.brand_id
        row.channel = data.channel.value
        row.thread_key = data.thread_key
        row.kind = data.kind.value
        row.lang = data.lang
        row.sentiment_label = data.sentiment.label.value if data.sentiment else None
        row.sentiment_score = data.sentiment.score if data.sentiment else None
        row.author_external_id = data.author.external_id
        row.author_followers = data.author.followers
        row.own_message = data.flags.own_message
        row.created_at = data.created_at


def _merge_interaction(stored: InteractionRow, incoming: InteractionRow) -> InteractionRow:
    """The stored fact after the poll's events, summed up in `incoming`: the later version's
    snapshot, the earliest deletion."""
    merged = InteractionRow(*as_tuple(stored))
    if incoming.deleted_at is not None:
        merged.deleted_at = _earliest(merged.deleted_at, incoming.deleted_at)
    if incoming.version_at is not None and (
        merged.version_at is None
        or (incoming.version_at, incoming.version_id or "")
        > (merged.version_at, merged.version_id or "")
    ):
        deleted_at = merged.deleted_at
        merged = InteractionRow(*as_tuple(incoming))
        merged.deleted_at = deleted_at
    return merged


@dataclass(slots=True)
class PreparedInteractions:
    """A poll's interaction events worked out with no database: the facts they make (each
    interaction's events merged) and the parameters of their INSERT. On SQLite also their
    rollup contributions counted as if every fact were new (the fold takes back those of the
    facts it finds stored); on PostgreSQL the INSERT itself adds those of the facts it stores
    (`repository.insert_new_interactions_counted`). The consumer makes it before the poll's
    transaction (`prepare_poll`)."""

    envelopes: Sequence[Envelope]
    incoming: dict[str, InteractionRow]
    parameters: Any
    entries: dict[str, list[Entry]]
    delta: Delta | None


def prepare_interactions(
    dialect: str, envelopes: Sequence[Envelope], *, statements: bool = False
) -> PreparedInteractions:
    incoming: dict[str, InteractionRow] = {}
    for envelope in envelopes:
        data = envelope.data
        if not isinstance(data, Interaction | InteractionDeleted):
            continue
        row = incoming.get(data.id)
        if row is None:
            row = incoming[data.id] = InteractionRow(
                id=data.id, brand_id=data.brand_id, channel=data.channel.value
            )
        _apply_interaction(row, envelope, data)
    rows = list(incoming.values())
    parameters = repository.new_interactions_parameters(dialect, rows) if rows else None
    if dialect == "postgresql":
        return PreparedInteractions(envelopes, incoming, parameters, {}, None)
    entries = {row.id: interaction_entries(row) for row in rows}
    delta = Delta()
    for fact_entries in entries.values():
        delta.add(fact_entries)
    if statements:
        rollups.prepare_statements(dialect, delta)
    return PreparedInteractions(envelopes, incoming, parameters, entries, delta)


INTERACTION_EVENT_TYPES = ("interaction.received", "interaction.updated", "interaction.deleted")


def prepare_poll(dialect: str) -> Preparer:
    """The fact consumer's `prepare` (shared/bus/consumer.py): the interaction groups of a poll
    worked out while the previous poll's transaction runs."""

    def prepare(groups: Mapping[str, list[Envelope]]) -> dict[str, PreparedInteractions]:
        return {
            event_type: prepare_interactions(dialect, group, statements=True)
            for event_type, group in groups.items()
            if event_type in INTERACTION_EVENT_TYPES
        }

    return prepare


def _prepared(session: AsyncSession, envelopes: Sequence[Envelope]) -> PreparedInteractions:
    prepared = prepared_for(session)
    if isinstance(prepared, dict) and envelopes:
        candidate = prepared.get(envelopes[0].type)
        if isinstance(candidate, PreparedInteractions) and candidate.envelopes is envelopes:
            return candidate
    return prepare_interactions(dialect_of(session), envelopes)


async def fold_interactions(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """The poll's events of each interaction are merged in memory, then written in bulk: new
    facts by one INSERT ... ON CONFLICT DO NOTHING (on PostgreSQL with their rollups in the
    same statement), the ones already there (a conflict) locked, merged and written back by
    one upsert."""
    prepared = _prepared(session, envelopes)
    incoming = prepared.incoming
    if not incoming:
        return
    if prepared.delta is None:
        # PostgreSQL: the new facts' rollups were added by the INSERT itself.
        inserted = await repository.insert_new_interactions_counted(session, prepared.parameters)
        known = sorted(set(incoming) - inserted)
        if not known:
            return
        delta = rollups.pending_delta(session)
    else:
        inserted = await repository.insert_new_interactions(session, prepared.parameters)
        delta = rollups.pending_delta(session, prepared.delta)
        known = sorted(set(incoming) - inserted)
        if not known:
            return
        for fact_id in known:
            delta.add(prepared.entries[fact_id], -1)  # counted as new when prepared
    stored = await repository.interactions_for_update(session, known)
    changed = []
    for fact_id in known:
        before = stored.get(fact_id)
        after = (
            incoming[fact_id] if before is None else _merge_interaction(before, incoming[fact_id])
        )
        if after != before:
            delta.replace(interaction_entries(before), interaction_entries(after))
            changed.append(after)
    await repository.overwrite_interactions(session, changed)


async def fold_engagement(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    by_id: dict[str, dict[str, object]] = {}
    for envelope in envelopes:
        data = envelope.data
        if not isinstance(data, EngagementRecorded):
            continue
        by_id.setdefault(
            envelope.id,
            {
                "event_id": envelope.id,
                "brand_id": data.brand_id,
                "channel": data.channel.value,
                "external_id": data.external_id,
                "kind": data.kind,
                "likes": data.delta.likes,
                "comments": data.delta.comments,
                "shares": data.delta.shares,
                "views": data.delta.views,
                "occurred_at": data.occurred_at,
            },
        )
    rows = list(by_id.values())
    inserted = await repository.insert_engagement(session, rows)
    delta = rollups.pending_delta(session)
    for row in rows:
        if row["event_id"] in inserted:
            delta.add(engagement_entries(EngagementFact(**row)))


def _apply_case_event(fact: CaseFact, envelope: Envelope, data: CaseEvent) -> None:
    if envelope.type == "case.sla_breached" and data.sla_kind == SlaKind.first_response:
        fact.first_response_breached_at = _earliest(
            fact.first_response_breached_at, data.occurred_at
        )
    version_at = data.occurred_at
    if fact.version_at is not None and (version_at, envelope.id) <= (
        fact.version_at,
        fact.version_id or "",
    ):
        return
    fact.version_at, fact.version_id = version_at, envelope.id
    fact.brand_id = data.brand_id
    fact.channel = data.channel.value
    fact.thread_key = data.thread_key
    fact.department = data.department
    fact.assignee_id = data.assignee_id
    fact.intent = data.intent
    fact.status = data.status.value
    fact.priority = data.priority.value
    fact.lang = data.lang
    fact.sentiment_label = data.sentiment_label.value if data.sentiment_label else None
    fact.first_inbound_at = data.first_inbound_at
    fact.opened_at = data.opened_at
    fact.resolved_at = data.resolved_at
    fact.resolution_business_ms = business_milliseconds(data.resolution_business_seconds)
    fact.first_response_target_seconds = data.sla.first_response_target_seconds
    fact.first_response_due_at = data.sla.first_response_due_at


async def fold_cases(
    session: AsyncSession,
    case_envelopes: Sequence[Envelope] = (),
    reply_envelopes: Sequence[Envelope] = (),
) -> None:
    """Case events and sent replies: a case and its replies are one unit of the rollups."""
    placeholders: dict[str, dict[str, str]] = {}
    for envelope in [*case_envelopes, *reply_envelopes]:
        data = envelope.data
        if isinstance(data, CaseEvent | ReplyEvent):
            placeholders.setdefault(
                data.case_id,
                {
                    "case_id": data.case_id,
                    "brand_id": data.brand_id,
                    "channel": data.channel.value,
                    "thread_key": data.thread_key,
                },
            )
    if not placeholders:
        return
    case_ids = sorted(placeholders)
    await repository.ensure_cases(session, [placeholders[case_id] for case_id in case_ids])
    cases = await repository.cases_for_update(session, case_ids)
    replies = await repository.replies_of(session, case_ids)
    old = {
        case_id: case_entries(cases.get(case_id), replies.get(case_id, [])) for case_id in case_ids
    }
    for envelope in case_envelopes:
        if isinstance(envelope.data, CaseEvent):
            _apply_case_event(cases[envelope.data.case_id], envelope, envelope.data)
    for envelope in reply_envelopes:
        data = envelope.data
        if not isinstance(data, ReplyEvent) or data.sent_at is None:
            continue
        known = {reply.reply_id: reply for reply in replies.get(data.case_id, [])}
        existing = known.get(data.reply_id)
        if existing is not None:
            # The same reply reported twice: its earliest send counts.
            existing.sent_at = min(existing.sent_at, data.sent_at)
            continue
        reply = ReplyFact(
            reply_id=data.reply_id,
            case_id=data.case_id,
            brand_id=data.brand_id,
            channel=data.channel.value,
            department=data.department,
            author_id=data.author_id,
            sent_at=data.sent_at,
            answers_inbound_at=data.answers_inbound_at,
            first_check_passed=data.first_check_passed,
            first_inbound_business_ms=business_milliseconds(data.first_inbound_business_seconds),
            answers_inbound_business_ms=business_milliseconds(
                data.answers_inbound_business_seconds
            ),
        )
        session.add(reply)
        replies.setdefault(data.case_id, []).append(reply)
    delta = rollups.pending_delta(session)
    for case_id in case_ids:
        delta.replace(old[case_id], case_entries(cases.get(case_id), replies.get(case_id, [])))
    await session.flush()


def business_milliseconds(seconds: float | None) -> int | None:
    return None if seconds is None else max(0, round(seconds * 1000))


def _unit_key(data: GuidelineCheckCompleted) -> str:
    return f"reply:{data.reply_id}" if data.reply_id else f"check:{data.check_id}"


async def fold_checks(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    checks = [
        envelope.data
        for envelope in envelopes
        if isinstance(envelope.data, GuidelineCheckCompleted)
    ]
    if not checks:
        return
    units = await repository.checks_of(session, sorted({_unit_key(check) for check in checks}))
    touched = {_unit_key(check) for check in checks}
    old = {key: check_entries(units.get(key, [])) for key in touched}
    for data in checks:
        key = _unit_key(data)
        unit = units.setdefault(key, [])
        if any(check.check_id == data.check_id for check in unit):
            continue
        fact = CheckFact(
            check_id=data.check_id,
            unit_key=key,
            brand_id=data.brand_id,
            channel=data.channel,
            reply_id=data.reply_id,
            case_id=data.case_id,
            passed=data.passed,
            score=data.score,
            checked_at=data.checked_at,
        )
        session.add(fact)
        unit.append(fact)
    delta = rollups.pending_delta(session)
    for key in touched:
        delta.replace(old[key], check_entries(units.get(key, [])))
    await session.flush()
