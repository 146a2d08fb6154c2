"""A case's events: the `CaseEvent` snapshot of the case after a change, staged in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases.models import Case, CaseHistory
from shared.bus.outbox import add_many_to_outbox
from shared.bus.tables import BusTables
from shared.events.cases import CaseEvent, CaseStatus, Priority, SlaDeadlines, SlaKind
from shared.events.envelope import Envelope
from shared.events.interactions import Channel, SentimentLabel

SOURCE = "socialcare/routing"


def snapshot(
    case: Case,
    *,
    occurred_at: datetime | None = None,
    interaction_id: str | None = None,
    changed: list[str] | None = None,
    previous_department: str | None = None,
    previous_assignee_id: str | None = None,
    sla_kind: SlaKind | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        brand_id=case.brand_id,
        thread_key=case.thread_key,
        channel=Channel(case.channel),
        account_id=case.account_id,
        status=CaseStatus(case.status),
        priority=Priority(case.priority),
        department=case.department,
        assignee_id=case.assignee_id,
        intent=case.intent,
        intent_confidence=case.intent_confidence,
        lang=case.lang,
        sentiment_label=SentimentLabel(case.sentiment_label) if case.sentiment_label else None,
        sentiment_score=case.sentiment_score,
        tags=list(case.tags or []),
        requires_approval=case.requires_approval,
        author_external_id=case.author_external_id,
        author_followers=case.author_followers,
        sla=SlaDeadlines(
            policy_id=case.sla_policy_id,
            business_hours=case.sla_business_hours,
            first_response_due_at=case.first_response_due_at,
            next_response_due_at=case.next_response_due_at,
            resolution_due_at=case.resolution_due_at,
            first_response_target_seconds=case.first_response_target_seconds,
            next_response_target_seconds=case.next_response_target_seconds,
            resolution_target_seconds=case.resolution_target_seconds,
        ),
        first_inbound_at=case.first_inbound_at,
        last_inbound_at=case.last_inbound_at,
        opened_at=case.opened_at,
        resolved_at=case.resolved_at,
        resolution_business_seconds=(
            case.resolution_business_seconds if case.resolved_at is not None else None
        ),
        interaction_id=interaction_id,
        message_count=case.message_count,
        changed=changed or [],
        previous_department=previous_department,
        previous_assignee_id=previous_assignee_id,
        sla_kind=sla_kind,
        actor=actor,
        note=note,
        occurred_at=occurred_at or datetime.now(UTC),
    )


def case_envelope(event_type: str, case: Case, **details: object) -> Envelope:
    """The envelope of one `case.*` event, keyed by the case's thread key."""
    data = snapshot(case, **details)  # type: ignore[arg-type]
    return Envelope(type=event_type, source=SOURCE, key=case.thread_key, data=data, subject=case.id)


class CaseChanges:
    """What one transaction changed on cases: history rows and events, written together at the
    end (one statement each) so the poll's or request's transaction commits them with the
    cases."""

    def __init__(self, tables: BusTables, now: datetime | None = None) -> None:
        self.tables = tables
        self.now = now or datetime.now(UTC)
        self.envelopes: list[Envelope] = []
        self.history: list[dict[str, Any]] = []

    def record(
        self,
        case: Case,
        action: str,
        *,
        actor: str = "system",
        changes: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        self.history.append(
            {
                "case_id": case.id,
                "at": self.now,
                "actor": actor,
                "action": action,
                "changes": changes or {},
                "note": note,
            }
        )

    def publish(self, event_type: str, case: Case, **details: Any) -> None:
        details.setdefault("occurred_at", self.now)
        self.envelopes.append(case_envelope(event_type, case, **details))

    async def write(self, session: AsyncSession) -> None:
        await session.flush()
        if self.history:
            await session.execute(insert(CaseHistory), self.history)
        await add_many_to_outbox(session, self.tables, self.envelopes)
        self.history = []
        self.envelopes = []
