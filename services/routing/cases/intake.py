"""The case intake: every interaction ingest publishes becomes part of its thread's case.

One poll of `socialcare.interactions` is handled at once, in the consumer runner's transaction
(which also records the event ids, so a redelivered event changes nothing):

- a new inbound message joins its thread's active case; a resolved case reopens when the
  message comes inside the reopen window; otherwise a new case opens: intent (in-process
  classifier, with the interaction's language), the brand's routing decision, SLA deadlines,
  then an assignee or the queue. Spam opens closed.
- the brand's own messages (`flags.own_message`) join the case without reopening it;
- `interaction.updated` edits the message (or, arriving before its `received`, stands in for
  it); `interaction.deleted` marks it deleted.
- the intents of a poll's texts are classified in `prepare`, which the consumer runner calls for
  the next poll in its fetch thread while this poll's transaction waits on PostgreSQL (pure
  CPU, no database: shared/bus/consumer.py), in the intent worker's process when there is one
  (`services/routing/intents/worker.py`: then it does not hold the interpreter the transaction
  needs); a text that joins an active case after all was classified for nothing there, off the
  transaction's path. A retry (by partition or record) goes without and classifies in the
  transaction, as it would anyway.
- on PostgreSQL a large poll writes its history rows, events and messages in slices while it
  is still deciding (`WRITE_AHEAD`), in a task of its own, so the database stores one slice
  while the next is decided; the new cases themselves go in at the end, once assigned, and the
  keys to them are checked at the commit (`repository.defer_case_checks`). The events' order is
  the order they were published in, as before; a message written ahead that an update later in
  the poll edits is updated at the end.
- the same interaction twice (another event id, a replay) is one message: `case_messages`
  holds each interaction id once, and a thread has at most one active case (a partial unique
  index). Should another consumer open the thread's case at the same moment (a rebalance), the
  insert fails, the runner retries, and the retry finds that case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases import assigning, clocks, repository
from services.routing.cases.brand_routing import BrandRouting, load_brand_routing
from services.routing.cases.events import CaseChanges
from services.routing.cases.models import ACTIVE_STATUSES, AnyCase, CaseMessage, NewCase
from services.routing.intents import IntentClassifier, IntentPrediction
from services.routing.intents.classifier import SUPPORTED_LANGUAGES
from services.routing.intents.worker import TEXTS, ClassifierWorker
from shared.bus.consumer import prepared_for
from shared.bus.tables import BusTables
from shared.events.cases import Priority
from shared.events.envelope import Envelope
from shared.events.interactions import Interaction, InteractionDeleted
from shared.ids import random_uuid

logger = structlog.get_logger("socialcare.routing.intake")

# Interactions decided between two yields to the event loop (about 10-50 ms of CPU).
CHUNK = 50
# Interactions decided between two writes ahead of a poll's history and events (a multiple of
# CHUNK; bench/routing.py: slices of a tenth of a poll cost more in statements than they save).
WRITE_AHEAD = 250

# What a prediction is for: the interaction, its text and language (an update of the text in
# the same poll is classified again).
PredictionKey = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class PreparedIntents:
    """The intents `prepare` classified for a poll, by `PredictionKey`."""

    predictions: dict[PredictionKey, IntentPrediction | None]


def _prediction_key(interaction: Interaction) -> PredictionKey:
    return (interaction.id, interaction.text, interaction.lang)


@dataclass
class _Poll:
    """What one poll has found and changed so far."""

    changes: CaseChanges
    messages: dict[str, CaseMessage]
    cases: dict[str, AnyCase]  # newest case per thread key
    new_cases: list[NewCase] = field(default_factory=list)
    to_assign: list[AnyCase] = field(default_factory=list)
    # Intents of the poll's texts, classified in one pass before the cases are decided.
    predictions: dict[str, IntentPrediction | None] = field(default_factory=dict)
    message_rows: list[dict[str, object]] = field(default_factory=list)
    seen: dict[str, dict[str, object]] = field(default_factory=dict)  # interaction id → row
    # The interactions of `message_rows` already written (the first ones: `_write_ahead`), and
    # those of them an update later in the poll edited.
    written_ahead: set[str] = field(default_factory=set)
    edited_after_written: set[str] = field(default_factory=set)
    # What `prepare` classified for this poll, if it did.
    prepared: Mapping[PredictionKey, IntentPrediction | None] = field(default_factory=dict)


class CaseIntake:
    def __init__(
        self,
        *,
        tables: BusTables,
        classifier: Callable[[], IntentClassifier],
        reopen_window: timedelta,
        worker: ClassifierWorker | None = None,
    ) -> None:
        self.tables = tables
        self.classifier = classifier
        self.reopen_window = reopen_window
        self.worker = worker

    # ------------------------------------------------------------------ received / updated

    def prepare(self, groups: Mapping[str, list[Envelope]]) -> PreparedIntents:
        """Classify the poll's texts that may open a case (the consumer runner's `prepare`:
        no database, run outside the poll's transaction)."""
        keys: dict[PredictionKey, None] = {}
        for event_type in ("interaction.received", "interaction.updated"):
            for envelope in groups.get(event_type, ()):
                interaction = envelope.data
                if isinstance(interaction, Interaction) and not interaction.flags.own_message:
                    keys[_prediction_key(interaction)] = None
        if self.worker is not None:
            found = self.worker.classify_all([(text, _model_lang(lang)) for _, text, lang in keys])
            if found is not None:
                return PreparedIntents(dict(zip(keys, found, strict=True)))
        TEXTS.labels("consumer").inc(len(keys))
        return PreparedIntents(
            {key: self._classify_text(key[1], key[2]) for key in keys},
        )

    async def take_in(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        items = [
            (envelope.type, envelope.data)
            for envelope in envelopes
            if isinstance(envelope.data, Interaction)
        ]
        if not items:
            return
        changes = CaseChanges(self.tables)
        prepared = prepared_for(session)
        poll = _Poll(
            prepared=prepared.predictions if isinstance(prepared, PreparedIntents) else {},
            changes=changes,
            messages=await repository.messages_by_interaction(
                session, [item.id for _, item in items]
            ),
            cases=dict(
                await repository.latest_cases(session, [item.thread_key for _, item in items])
            ),
        )
        brands: dict[str, BrandRouting] = {}
        for brand_id in sorted({interaction.brand_id for _, interaction in items}):
            brands[brand_id] = await load_brand_routing(session, brand_id)
        # The poll's work is CPU bound: it hands the event loop back every `CHUNK` items, so
        # heartbeats, the next fetch and HTTP requests go on while a 500-record poll is decided.
        # On PostgreSQL a large poll also writes its history rows, events and messages so far
        # every `WRITE_AHEAD` items, in a task of its own: the database stores them while the
        # rest is decided, rather than all of them after (their cases go in at the end, once
        # assigned, so the keys to them are checked at the commit).
        ahead = len(items) > WRITE_AHEAD and await repository.defer_case_checks(session)
        writing: asyncio.Task[None] | None = None
        try:
            for start in range(0, len(items), CHUNK):
                if start:
                    if ahead and start % WRITE_AHEAD == 0:
                        if writing is not None:
                            await writing
                        writing = asyncio.create_task(self._write_ahead(session, poll))
                    await asyncio.sleep(0)
                chunk = items[start : start + CHUNK]
                self._classify_new(poll, [interaction for _, interaction in chunk])
                for event_type, interaction in chunk:
                    self._take_one(
                        poll,
                        brands[interaction.brand_id],
                        interaction,
                        edited=event_type == "interaction.updated",
                    )
        except BaseException:
            if writing is not None:
                await _settle(writing)  # the connection is idle again before the rollback
            raise
        if writing is not None:
            await writing
        # Assignees are chosen before anything is written, so each new case is stored once,
        # as it ends the poll; brands in id order, so two consumers lock their members in one
        # order.
        by_brand: dict[str, list[AnyCase]] = {}
        for case in poll.to_assign:
            by_brand.setdefault(case.brand_id, []).append(case)
        decided = [
            await assigning.decide_assignments(session, changes, brand_id, by_brand[brand_id])
            for brand_id in sorted(by_brand)
        ]
        await repository.insert_cases(session, poll.new_cases)
        await session.flush()  # the changes to cases already stored
        await repository.insert_messages(session, poll.message_rows[len(poll.written_ahead) :])
        # A message written ahead, then edited by an update later in the poll.
        await repository.update_message_texts(
            session, [poll.seen[interaction_id] for interaction_id in poll.edited_after_written]
        )
        for assignment in decided:
            if assignment is not None:
                await assignment.write(session)
        await changes.write(session)

    async def _write_ahead(self, session: AsyncSession, poll: _Poll) -> None:
        """The poll's history rows, events and messages so far (their new cases go in later:
        the transaction checks the keys at its commit)."""
        await poll.changes.write_ahead(session)
        rows = poll.message_rows[len(poll.written_ahead) :]
        if rows:
            await repository.insert_messages(session, rows)
            poll.written_ahead.update(str(row["interaction_id"]) for row in rows)

    def _take_one(
        self, poll: _Poll, brand: BrandRouting, interaction: Interaction, *, edited: bool
    ) -> None:
        known = poll.messages.get(interaction.id)
        if known is not None:
            if edited:
                self._edit(poll, known, interaction)
            return
        row = poll.seen.get(interaction.id)
        if row is not None:  # the same interaction twice in one poll
            if edited and row["text"] != interaction.text:
                row["text"] = interaction.text
                row["edited_at"] = poll.changes.now
                if interaction.id in poll.written_ahead:
                    poll.edited_after_written.add(interaction.id)
            return
        now = poll.changes.now
        case = poll.cases.get(interaction.thread_key)
        if interaction.flags.own_message:
            if case is None:
                logger.info("own_message_without_case", thread_key=interaction.thread_key)
                return
            self._append(poll, case, interaction, direction="own")
            return
        if case is not None and case.status in ACTIVE_STATUSES:
            if case.status == "pending":  # the customer answered
                self._set_status(poll, case, "open")
            self._append(poll, case, interaction, direction="inbound")
            if case.last_response_at is not None:  # a new question after an answer
                clocks.apply_plan(case, brand.sla_for(case.department, Priority(case.priority)))
            return
        if (
            case is not None
            and case.status == "resolved"
            and case.resolved_at is not None
            and now - case.resolved_at <= self.reopen_window
        ):
            self._reopen(poll, brand, case)
            self._append(poll, case, interaction, direction="inbound")
            return
        self._open(poll, brand, interaction)

    # ------------------------------------------------------------------ steps

    def _classify_new(self, poll: _Poll, interactions: Sequence[Interaction]) -> None:
        """Classify, one after the other, the texts that may open a case (the model's tables
        stay warm in the CPU caches, rather than being read again between the other steps of
        each case). A text that joins a case after all is classified for nothing, harmlessly:
        the classifier is deterministic."""
        for interaction in interactions:
            if (
                interaction.id in poll.messages
                or interaction.id in poll.predictions
                or interaction.flags.own_message
            ):
                continue
            case = poll.cases.get(interaction.thread_key)
            if case is not None and case.status in ACTIVE_STATUSES:
                continue
            key = _prediction_key(interaction)
            poll.predictions[interaction.id] = (
                poll.prepared[key] if key in poll.prepared else self._classify(interaction)
            )

    def _prediction(self, poll: _Poll, interaction: Interaction) -> IntentPrediction | None:
        if interaction.id in poll.predictions:
            return poll.predictions[interaction.id]
        return self._classify(interaction)

    def _classify(self, interaction: Interaction) -> IntentPrediction | None:
        return self._classify_text(interaction.text, interaction.lang)

    def _classify_text(self, text: str, lang: str | None) -> IntentPrediction | None:
        return self.classifier().classify_or_none(text, _model_lang(lang))

    def close(self) -> None:
        """Stop the intent worker, if one was started."""
        if self.worker is not None:
            self.worker.close()

    def _open(self, poll: _Poll, brand: BrandRouting, interaction: Interaction) -> None:
        now = poll.changes.now
        prediction = self._prediction(poll, interaction)
        account_id = brand.account_for(interaction.connection_id, interaction.channel.value)
        routed = brand.route(interaction, prediction, account_id, now)
        first_inbound = min(interaction.created_at, now)
        sentiment, author = interaction.sentiment, interaction.author
        closed = routed.closed
        case = NewCase(
            id=random_uuid(),
            brand_id=interaction.brand_id,
            thread_key=interaction.thread_key,
            channel=interaction.channel.value,
            connection_id=interaction.connection_id,
            account_id=account_id,
            status="closed" if closed else "open",
            priority=routed.priority.value,
            department=routed.department,
            intent=prediction.intent.value if prediction else None,
            intent_confidence=prediction.confidence if prediction else None,
            lang=interaction.lang or (prediction.lang if prediction else None),
            sentiment_label=sentiment.label.value if sentiment else None,
            sentiment_score=sentiment.score if sentiment else None,
            tags=list(routed.tags),
            skills=list(routed.skills),
            matched_rules=list(routed.rule_ids),
            requires_approval=routed.requires_approval,
            author_external_id=author.external_id,
            author_handle=author.handle,
            author_followers=author.followers,
            first_inbound_at=first_inbound,
            last_inbound_at=first_inbound,
            opened_at=now,
            closed_at=now if closed else None,
        )
        if not closed:
            clocks.apply_plan(
                case, brand.sla_for(case.department, routed.priority, routed.sla_policy_id)
            )
        poll.new_cases.append(case)
        poll.cases[case.thread_key] = case
        self._append(poll, case, interaction, direction="inbound", announce=False)
        changes = poll.changes
        changes.record(
            case,
            "opened",
            changes={"status": [None, case.status], "intent": [None, case.intent]},
        )
        changes.publish("case.opened", case, interaction_id=interaction.id)
        if case.department is not None and not routed.closed:
            changes.record(
                case,
                "routed",
                changes={
                    "department": [None, case.department],
                    "priority": [None, case.priority],
                    "rules": list(routed.rule_ids),
                },
            )
            changes.publish(
                "case.routed",
                case,
                interaction_id=interaction.id,
                changed=["notify"] if routed.notify else [],
            )
            poll.to_assign.append(case)

    def _reopen(self, poll: _Poll, brand: BrandRouting, case: AnyCase) -> None:
        previous = case.status
        case.status = "open"
        case.resolved_at = None
        case.reopened_count += 1
        case.version += 1
        # The previous assignee was released when the case was resolved: choose again.
        case.assignee_id = None
        clocks.apply_plan(case, brand.sla_for(case.department, Priority(case.priority)))
        poll.changes.record(case, "reopened", changes={"status": [previous, "open"]})
        poll.changes.publish("case.reopened", case)
        if case.department is not None:
            poll.to_assign.append(case)

    def _set_status(self, poll: _Poll, case: AnyCase, status: str) -> None:
        previous = case.status
        case.status = status
        case.version += 1
        poll.changes.record(case, "updated", changes={"status": [previous, status]})
        poll.changes.publish("case.updated", case, changed=["status"])

    def _append(
        self,
        poll: _Poll,
        case: AnyCase,
        interaction: Interaction,
        *,
        direction: str,
        announce: bool = True,
    ) -> None:
        row = _message_row(case.id, interaction, direction)
        poll.message_rows.append(row)
        poll.seen[interaction.id] = row
        case.message_count += 1
        if direction == "inbound":
            created = min(interaction.created_at, poll.changes.now)
            if created < case.first_inbound_at:
                case.first_inbound_at = created
            if created > case.last_inbound_at:
                case.last_inbound_at = created
        if announce:
            case.version += 1
            poll.changes.publish(
                "case.updated", case, changed=["messages"], interaction_id=interaction.id
            )

    def _edit(self, poll: _Poll, message: CaseMessage, interaction: Interaction) -> None:
        if message.text == interaction.text:
            return
        case = poll.cases.get(interaction.thread_key)
        message.text = interaction.text
        message.edited_at = poll.changes.now
        if case is not None and case.id == message.case_id:
            poll.changes.record(case, "message_edited", changes={"interaction_id": interaction.id})
            poll.changes.publish(
                "case.updated", case, changed=["messages"], interaction_id=interaction.id
            )

    # ------------------------------------------------------------------ deleted

    async def take_deletions(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        items = [e.data for e in envelopes if isinstance(e.data, InteractionDeleted)]
        if not items:
            return
        changes = CaseChanges(self.tables)
        messages = await repository.messages_by_interaction(session, [item.id for item in items])
        cases = await repository.cases_by_id(
            session, [message.case_id for message in messages.values()]
        )
        for item in items:
            message = messages.get(item.id)
            if message is None:
                # Deleted before routing saw it: nothing of it is stored, nothing to hide.
                logger.info("deletion_of_unknown_interaction", interaction_id=item.id)
                continue
            if message.deleted_at is not None:
                continue
            message.deleted_at = item.deleted_at
            message.deleted_reason = item.reason[:20]
            case = cases.get(message.case_id)
            if case is not None:
                case.version += 1
                changes.record(
                    case,
                    "message_deleted",
                    changes={"interaction_id": item.id, "reason": item.reason},
                )
                changes.publish("case.updated", case, changed=["messages"], interaction_id=item.id)
        await changes.write(session)


async def _settle(task: asyncio.Task[None]) -> None:
    """Wait for a write that no longer matters (the poll failed), whatever it ends with."""
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: the poll's own error is the one raised


def _model_lang(lang: str | None) -> str | None:
    """The language the classifier is told: one it has rules for, or None to detect it."""
    return lang if lang in SUPPORTED_LANGUAGES else None


def _message_row(case_id: str, interaction: Interaction, direction: str) -> dict[str, object]:
    return {
        "id": random_uuid(),
        "case_id": case_id,
        "interaction_id": interaction.id,
        "reply_id": None,
        "direction": direction,
        "kind": interaction.kind.value,
        "external_id": interaction.external_id,
        "text": interaction.text,
        "author_external_id": interaction.author.external_id,
        "author_handle": interaction.author.handle,
        "author_display_name": interaction.author.display_name,
        "lang": interaction.lang,
        "sentiment_label": interaction.sentiment.label.value if interaction.sentiment else None,
        "sentiment_score": interaction.sentiment.score if interaction.sentiment else None,
        "url": interaction.url,
        "created_at": interaction.created_at,
        "received_at": interaction.received_at,
        "edited_at": None,
        "deleted_at": None,
        "deleted_reason": None,
    }
