"""A case's events: the `CaseEvent` snapshot of the case after a change, staged in the outbox.

A poll of the intake stages three events per new case (opened, routed, assigned), so the
snapshot is written straight from the case's attributes to its JSON (`event_json`): the same
bytes `CaseEvent(...).model_dump_json()` gives (`tests/routing/test_cases_intake_batch.py`
compares them), without validating again values the case already holds validated (the
interaction, the rules and the API checked them on the way in) or building the model at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases import repository
from services.routing.cases.models import AnyCase
from shared.bus.outbox import add_many_to_outbox
from shared.bus.tables import BusTables
from shared.events.cases import CaseEvent, SlaKind
from shared.events.envelope import Envelope
from shared.events.payloads import RecordPayload

SOURCE = "socialcare/routing"
# Rows per statement when a transaction writes its history and outbox rows.
WRITE_SLICE = 500


def event_fields(
    case: AnyCase,
    *,
    occurred_at: datetime | None = None,
    interaction_id: str | None = None,
    changed: list[str] | None = None,
    previous_department: str | None = None,
    previous_assignee_id: str | None = None,
    sla_kind: SlaKind | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The `CaseEvent` of the case as it is now, as a dict in the model's field order."""
    return {
        "case_id": case.id,
        "brand_id": case.brand_id,
        "thread_key": case.thread_key,
        "channel": case.channel,
        "account_id": case.account_id,
        "status": case.status,
        "priority": case.priority,
        "department": case.department,
        "assignee_id": case.assignee_id,
        "intent": case.intent,
        "intent_confidence": case.intent_confidence,
        "lang": case.lang,
        "sentiment_label": case.sentiment_label or None,
        "sentiment_score": case.sentiment_score,
        "tags": list(case.tags or []),
        "requires_approval": case.requires_approval,
        "author_external_id": case.author_external_id,
        "author_followers": case.author_followers,
        "sla": {
            "policy_id": case.sla_policy_id,
            "business_hours": case.sla_business_hours,
            "first_response_due_at": case.first_response_due_at,
            "next_response_due_at": case.next_response_due_at,
            "resolution_due_at": case.resolution_due_at,
            "first_response_target_seconds": case.first_response_target_seconds,
            "next_response_target_seconds": case.next_response_target_seconds,
            "resolution_target_seconds": case.resolution_target_seconds,
        },
        "first_inbound_at": case.first_inbound_at,
        "last_inbound_at": case.last_inbound_at,
        "opened_at": case.opened_at,
        "resolved_at": case.resolved_at,
        "resolution_business_seconds": (
            case.resolution_business_seconds if case.resolved_at is not None else None
        ),
        "interaction_id": interaction_id,
        "message_count": case.message_count,
        "changed": list(changed or []),
        "previous_department": previous_department,
        "previous_assignee_id": previous_assignee_id,
        "sla_kind": sla_kind,
        "actor": actor,
        "note": note,
        "occurred_at": occurred_at or datetime.now(UTC),
    }


def snapshot(case: AnyCase, **details: Any) -> CaseEvent:
    """The case as a validated `CaseEvent` (what `event_json` writes, as a model)."""
    return CaseEvent.model_validate(event_fields(case, **details))


def event_json(case: AnyCase, **details: Any) -> bytes:
    """The JSON of the case's `CaseEvent` now, byte for byte `snapshot(...).model_dump_json()`."""
    return to_json(event_fields(case, **details))


class EncodedCaseEvent(RecordPayload):
    """A `CaseEvent` already written as JSON: the record's value as it is (readers get the
    `CaseEvent` the registry names for `case.*` types)."""

    attribute_names: ClassVar[frozenset[str]] = frozenset()
    value: bytes

    def record_value(self) -> bytes:
        return self.value

    def record_attributes(self) -> dict[str, str]:
        return {}

    @classmethod
    def from_record(cls, value: bytes, attributes: dict[str, str]) -> Self:
        return cls(value=value)


def case_envelope(event_type: str, case: AnyCase, **details: Any) -> Envelope:
    """The envelope of one `case.*` event, keyed by the case's thread key."""
    data = EncodedCaseEvent.model_construct(value=event_json(case, **details))
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
        # How many of each are already written (`write_ahead`).
        self._history_written = 0
        self._envelopes_written = 0

    def record(
        self,
        case: AnyCase,
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

    def publish(self, event_type: str, case: AnyCase, **details: Any) -> None:
        details.setdefault("occurred_at", self.now)
        self.envelopes.append(case_envelope(event_type, case, **details))

    async def write_ahead(self, session: AsyncSession) -> None:
        """Write the history rows and events recorded so far, and not the rest (`write` does):
        the intake's poll does, while it goes on deciding (the database stores them
        meanwhile). Its history rows may name cases not inserted yet: the transaction must have
        deferred their check (`repository.defer_case_checks`)."""
        history, envelopes = len(self.history), len(self.envelopes)
        if history > self._history_written:
            await repository.insert_history(session, self.history[self._history_written : history])
        if envelopes > self._envelopes_written:
            await add_many_to_outbox(
                session, self.tables, self.envelopes[self._envelopes_written : envelopes]
            )
        self._history_written, self._envelopes_written = history, envelopes

    async def write(self, session: AsyncSession) -> None:
        await session.flush()
        # In slices: encoding a poll's thousands of rows is CPU work, and each write hands the
        # event loop back while the database runs it.
        for start in range(self._history_written, len(self.history), WRITE_SLICE):
            await repository.insert_history(session, self.history[start : start + WRITE_SLICE])
        for start in range(self._envelopes_written, len(self.envelopes), WRITE_SLICE):
            await add_many_to_outbox(
                session, self.tables, self.envelopes[start : start + WRITE_SLICE]
            )
        self.history = []
        self.envelopes = []
        self._history_written = self._envelopes_written = 0
