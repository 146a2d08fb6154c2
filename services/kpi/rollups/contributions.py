"""What each fact contributes to the rollups: the KPI definitions of DESIGN.md, as entries.

- interactions: inbound volume and sentiment at the platform time (own messages and deleted
  ones count for nothing); brand × channel (no department owns an interaction before routing).
- engagement: likes, comments, shares, views at the record's time; brand × channel.
- cases (with their sent replies), under the case's department, intent and assignee:
  opened, responded (≥ 1 sent reply) and first response time (first sent reply − first inbound
  message) at `opened_at`; resolved and resolution time (`resolved_at` − `opened_at`) at
  `resolved_at`; the first-response SLA at the time its clock ended: met when the first reply
  came within the target, breached when it came late or routing reported the breach (then at the
  deadline); every sent reply at `sent_at` with its author as member, and for each reply after
  the first that answers a customer message, next response time (sent − that message). First
  response, next response and resolution times also in business hours of the handling
  department, where the events carry them (routing measures them in the department's calendar:
  kpi knows no calendars).
- guideline checks: per reply, its first check (by time): checked, and passed or not.
- ideas: each interaction collected as an idea at its platform time; brand × channel, intent
  feedback_idea (no department or member owns an interaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from services.kpi.facts.models import (
    CaseFact,
    CheckFact,
    EngagementFact,
    ReplyFact,
)
from services.kpi.rollups.measures import Dimensions, Entry, Sketch
from services.kpi.rollups.sketch import bin_of

SCORE_SCALE = 1_000_000  # sentiment scores are summed as integer micro-units


def milliseconds(start: datetime, end: datetime) -> int:
    """end − start in whole milliseconds, never negative (clock skew between platforms)."""
    return max(0, round((end - start).total_seconds() * 1000))


class InteractionState(Protocol):
    """What an interaction's entries depend on: a fact row, mapped or not."""

    @property
    def brand_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def own_message(self) -> bool: ...
    @property
    def sentiment_label(self) -> str | None: ...
    @property
    def sentiment_score(self) -> float | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def deleted_at(self) -> datetime | None: ...


def interaction_entries(fact: InteractionState | None) -> list[Entry]:
    if fact is None or fact.created_at is None or fact.deleted_at is not None or fact.own_message:
        return []
    measures = {"interactions": 1}
    if fact.sentiment_label is not None:
        measures[f"sentiment_{fact.sentiment_label}"] = 1
    if fact.sentiment_score is not None:
        measures["sentiment_scored"] = 1
        measures["sentiment_score_micros"] = round(fact.sentiment_score * SCORE_SCALE)
    return [Entry(fact.created_at, (fact.brand_id, fact.channel, "", "", ""), measures)]


def engagement_entries(fact: EngagementFact) -> list[Entry]:
    measures = {"engagement_records": 1}
    for name in ("likes", "comments", "shares", "views"):
        value = getattr(fact, name)
        if value:
            measures[name] = value
    return [Entry(fact.occurred_at, (fact.brand_id, fact.channel, "", "", ""), measures)]


def _reply_order(reply: ReplyFact) -> tuple[datetime, str]:
    return reply.sent_at, reply.reply_id


def case_entries(case: CaseFact | None, replies: Sequence[ReplyFact]) -> list[Entry]:
    """Everything one case and its sent replies contribute (nothing before its first event)."""
    if case is None or case.opened_at is None or case.first_inbound_at is None:
        return []
    department = case.department or ""
    intent = case.intent or ""
    dimensions: Dimensions = (
        case.brand_id,
        case.channel,
        department,
        case.assignee_id or "",
        intent,
    )
    ordered = sorted(replies, key=_reply_order)
    first = ordered[0] if ordered else None
    entries: list[Entry] = []
    opened = {"cases_opened": 1}
    sketches: tuple[tuple[Sketch, int], ...] = ()
    if first is not None:
        first_ms = milliseconds(case.first_inbound_at, first.sent_at)
        opened.update(cases_responded=1, first_response_count=1, first_response_ms=first_ms)
        sketches = ((Sketch.first_response, bin_of(first_ms)),)
        if first.first_inbound_business_ms is not None:
            business_ms = first.first_inbound_business_ms
            opened.update(first_response_business_count=1, first_response_business_ms=business_ms)
            sketches += ((Sketch.first_response_business, bin_of(business_ms)),)
    entries.append(Entry(case.opened_at, dimensions, opened, sketches))
    if case.resolved_at is not None:
        resolution_ms = milliseconds(case.opened_at, case.resolved_at)
        resolved = {"cases_resolved": 1, "resolution_ms": resolution_ms}
        resolved_sketches: tuple[tuple[Sketch, int], ...] = (
            (Sketch.resolution, bin_of(resolution_ms)),
        )
        if case.resolution_business_ms is not None:
            business_ms = case.resolution_business_ms
            resolved.update(resolution_business_count=1, resolution_business_ms=business_ms)
            resolved_sketches += ((Sketch.resolution_business, bin_of(business_ms)),)
        entries.append(Entry(case.resolved_at, dimensions, resolved, resolved_sketches))
    sla = first_response_sla(case, first.sent_at if first is not None else None)
    if sla is not None:
        ended_at, met = sla
        entries.append(Entry(ended_at, dimensions, {"sla_ended": 1, "sla_met": int(met)}))
    for reply in ordered:
        reply_dimensions: Dimensions = (
            case.brand_id,
            case.channel,
            reply.department or department,
            reply.author_id or "",
            intent,
        )
        measures = {"replies_sent": 1}
        reply_sketches: tuple[tuple[Sketch, int], ...] = ()
        if reply is not first and reply.answers_inbound_at is not None:
            next_ms = milliseconds(reply.answers_inbound_at, reply.sent_at)
            measures.update(next_response_count=1, next_response_ms=next_ms)
            reply_sketches = ((Sketch.next_response, bin_of(next_ms)),)
            if reply.answers_inbound_business_ms is not None:
                business_ms = reply.answers_inbound_business_ms
                measures.update(
                    next_response_business_count=1, next_response_business_ms=business_ms
                )
                reply_sketches += ((Sketch.next_response_business, bin_of(business_ms)),)
        entries.append(Entry(reply.sent_at, reply_dimensions, measures, reply_sketches))
    return entries


def first_response_sla(
    case: CaseFact, first_sent_at: datetime | None
) -> tuple[datetime, bool] | None:
    """(when the first-response clock ended, met) or None: no target, or still running."""
    assert case.first_inbound_at is not None
    target = case.first_response_target_seconds
    due = case.first_response_due_at
    breached_at = case.first_response_breached_at
    if target is None and due is None:
        return None
    if first_sent_at is not None:
        if due is not None:
            met = first_sent_at <= due
        else:
            assert target is not None
            met = milliseconds(case.first_inbound_at, first_sent_at) <= target * 1000
        if breached_at is not None and breached_at < first_sent_at:
            met = False  # routing's clock (business hours) said late
        return first_sent_at, met
    if breached_at is not None:
        return due or breached_at, False
    return None


def check_entries(checks: Sequence[CheckFact]) -> list[Entry]:
    """One reply's checks: its first one (by time, then id) decides first pass."""
    if not checks:
        return []
    first = min(checks, key=lambda check: (check.checked_at, check.check_id))
    measures = {"replies_checked": 1, "replies_first_pass": int(first.passed)}
    return [Entry(first.checked_at, (first.brand_id, first.channel or "", "", "", ""), measures)]


IDEA_INTENT = "feedback_idea"


class IdeaCounted(NamedTuple):
    """What an idea's entry depends on (an `IdeaItem` row has these too)."""

    brand_id: str
    channel: str
    created_at: datetime


def idea_entries(idea: IdeaCounted | None) -> list[Entry]:
    if idea is None:
        return []
    dimensions: Dimensions = (idea.brand_id, idea.channel, "", "", IDEA_INTENT)
    return [Entry(idea.created_at, dimensions, {"ideas_collected": 1})]
