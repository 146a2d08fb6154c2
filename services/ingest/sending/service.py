"""The rules of a send's life: accept a request once, claim it, judge each attempt's outcome,
retry or finish, and stage the outcome event in the same transaction as the state change.
No HTTP, FastAPI or Kafka here (the worker makes the calls; `platforms.py` reads answers)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.credentials import CredentialBox
from services.ingest.models import Send, bus_tables
from services.ingest.sending import repository
from services.ingest.sending.messages import messages_for
from services.ingest.sending.platforms import (
    NotSendable,
    Outcome,
    PlatformRequest,
    Refused,
    Retry,
    SendTokens,
    Sent,
    Unknown,
    build_check,
    build_send,
    can_check,
)
from shared.bus.outbox import add_to_outbox
from shared.events.envelope import Envelope
from shared.events.interactions import Channel
from shared.events.sends import (
    WINDOWED_KINDS,
    PlatformError,
    SendCompleted,
    SendFailed,
    SendFailureReason,
    SendKind,
    SendRequested,
)

logger = structlog.get_logger("socialcare.ingest.sending")
SOURCE = "/socialcare/ingest"
# Longest wait a platform's Retry-After is honoured for (beyond it, the retries run out).
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class SendPolicy:
    """The settings the rules need (from IngestSettings)."""

    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    window: timedelta
    lease: timedelta


@dataclass(frozen=True)
class Attempt:
    """One claimed attempt, everything the worker needs to make the call."""

    send_id: str
    number: int  # the send's attempt count including this one
    request: PlatformRequest
    check: PlatformRequest | None  # look for an earlier reply first
    page_id: str | None
    text: str


# -------------------------------------------------------------------------------------- intake


async def accept_request(session: AsyncSession, event_id: str, data: SendRequested) -> bool:
    """Store the request once per send_id; False for a duplicate (nothing more happens)."""
    existing = await repository.get_send(session, data.send_id)
    if existing is not None:
        logger.info("send_request_duplicate", send_id=data.send_id, state=existing.state)
        return False
    repository.add_send(
        session,
        Send(
            send_id=data.send_id,
            request_event_id=event_id,
            brand_id=data.brand_id,
            case_id=data.case_id,
            connection_id=data.connection_id,
            channel=data.channel.value,
            thread_key=data.thread_key,
            kind=data.kind.value,
            target_id=data.target_id,
            text=data.text,
            requested_at=data.requested_at,
            last_inbound_at=data.last_inbound_at,
            state=repository.REQUESTED,
            attempts=0,
            next_attempt_at=data.requested_at,
            check_before_send=False,
        ),
    )
    await session.flush()
    return True


# ------------------------------------------------------------------------------------ claiming


async def claim_due(
    session: AsyncSession, box: CredentialBox, policy: SendPolicy, *, now: datetime, limit: int
) -> tuple[list[Attempt], int]:
    """Mark due sends in_flight (committed by the caller before any call is made) and build
    their calls; sends that cannot be made fail here without a call. Returns the attempts and
    how many sends finished."""
    rows = await repository.due_sends(session, now=now, limit=limit)
    connections = await repository.get_connections(session, {row.connection_id for row in rows})
    attempts: list[Attempt] = []
    finished = 0
    for row in rows:
        kind = SendKind(row.kind)
        channel = Channel(row.channel)
        if kind in WINDOWED_KINDS and (
            row.last_inbound_at is None or now - row.last_inbound_at > policy.window
        ):
            await _fail(session, row, SendFailureReason.window_closed, "window_closed", None, now)
            finished += 1
            continue
        connection = connections.get(row.connection_id)
        if connection is None or connection.brand_id != row.brand_id:
            await _fail(
                session, row, SendFailureReason.permanent, "connection_not_found", None, now
            )
            finished += 1
            continue
        tokens = SendTokens.from_secrets(box.open(connection.secrets_encrypted))
        try:
            request = build_send(kind, channel, row.target_id, row.text, tokens)
            check = build_check(row.target_id, tokens) if row.check_before_send else None
        except NotSendable as exc:
            error = PlatformError(message=str(exc))
            await _fail(session, row, SendFailureReason.permanent, exc.code, error, now)
            finished += 1
            continue
        row.state = repository.IN_FLIGHT
        row.attempts += 1
        row.attempt_started_at = now
        row.lease_until = now + policy.lease
        row.next_attempt_at = None
        attempts.append(
            Attempt(
                send_id=row.send_id,
                number=row.attempts,
                request=request,
                check=check,
                page_id=tokens.page_id,
                text=row.text,
            )
        )
    await session.flush()
    return attempts, finished


async def recover_interrupted(session: AsyncSession, *, now: datetime, limit: int) -> int:
    """In-flight sends whose worker stopped during the call (its lease ran out): where an
    earlier reply can be looked for, the next attempt looks first; elsewhere the send is
    `uncertain` and never repeated. Returns how many sends finished."""
    finished = 0
    for row in await repository.interrupted_sends(session, now=now, limit=limit):
        logger.warning("send_interrupted", send_id=row.send_id, kind=row.kind)
        if can_check(SendKind(row.kind), Channel(row.channel)):
            row.state = repository.REQUESTED
            row.check_before_send = True
            row.next_attempt_at = now
            row.lease_until = None
        else:
            await _fail(session, row, SendFailureReason.uncertain, "interrupted", None, now)
            finished += 1
    await session.flush()
    return finished


# ------------------------------------------------------------------------------------ outcomes


def backoff_seconds(
    policy: SendPolicy, attempt: int, retry_after: float | None, rng: random.Random
) -> float:
    """Exponential backoff with jitter; a platform's Retry-After is waited at least."""
    ceiling = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2 ** (attempt - 1))
    delay = ceiling * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS) * rng.uniform(1.0, 1.1))
    return float(delay)


async def record_outcome(
    session: AsyncSession,
    attempt: Attempt,
    outcome: Outcome,
    *,
    posted: bool,
    policy: SendPolicy,
    now: datetime,
    rng: random.Random,
) -> bool:
    """Apply an attempt's outcome; False when the send was no longer this attempt's (its lease
    ran out and it was recovered meanwhile), in which case nothing changes."""
    row = await repository.get_send(session, attempt.send_id, lock=True)
    if row is None or row.state != repository.IN_FLIGHT or row.attempts != attempt.number:
        logger.warning("send_outcome_superseded", send_id=attempt.send_id)
        return False
    row.lease_until = None
    earlier_may_exist = row.check_before_send and not posted
    if isinstance(outcome, Sent):
        row.state = repository.COMPLETED
        row.platform_message_id = outcome.message_id
        row.finished_at = now
        row.check_before_send = False
        await _stage(session, row, "send.completed", _completed(row, outcome.message_id, now))
    elif isinstance(outcome, Refused):
        reason = (
            SendFailureReason.window_closed
            if outcome.code == "window_closed"
            else SendFailureReason.permanent
        )
        if earlier_may_exist and outcome.code != "target_not_found":
            reason = SendFailureReason.uncertain
        await _fail(session, row, reason, outcome.code, outcome.error, now)
    elif isinstance(outcome, Retry):
        if posted:
            row.check_before_send = False
        if row.attempts >= policy.max_attempts:
            reason = (
                SendFailureReason.uncertain
                if row.check_before_send
                else SendFailureReason.retries_exhausted
            )
            await _fail(session, row, reason, outcome.code, outcome.error, now)
        else:
            delay = backoff_seconds(policy, row.attempts, outcome.retry_after, rng)
            row.state = repository.REQUESTED
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.failure = _failure_record(outcome.code, outcome.error)
            logger.info(
                "send_retry_scheduled",
                send_id=row.send_id,
                attempt=row.attempts,
                code=outcome.code,
                delay_seconds=round(delay, 2),
            )
    else:
        assert isinstance(outcome, Unknown)
        checkable = can_check(SendKind(row.kind), Channel(row.channel))
        if checkable and row.attempts < policy.max_attempts:
            # Look before posting again, once the platform had a moment to show the reply.
            row.state = repository.REQUESTED
            row.check_before_send = True
            delay = backoff_seconds(policy, row.attempts, None, rng)
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.failure = _failure_record(outcome.code, PlatformError(message=outcome.detail))
        else:
            error = PlatformError(message=outcome.detail) if outcome.detail else None
            await _fail(session, row, SendFailureReason.uncertain, outcome.code, error, now)
    await session.flush()
    return row.state in (repository.COMPLETED, repository.FAILED, repository.UNCERTAIN)


# ------------------------------------------------------------------------------------- helpers


def _failure_record(code: str, error: PlatformError | None) -> dict[str, object]:
    return {"code": code, "platform_error": error.model_dump() if error else None}


def _completed(row: Send, message_id: str, now: datetime) -> SendCompleted:
    return SendCompleted(
        send_id=row.send_id,
        brand_id=row.brand_id,
        case_id=row.case_id,
        connection_id=row.connection_id,
        channel=Channel(row.channel),
        thread_key=row.thread_key,
        kind=SendKind(row.kind),
        attempts=row.attempts,
        platform_message_id=message_id,
        sent_at=now,
    )


async def _fail(
    session: AsyncSession,
    row: Send,
    reason: SendFailureReason,
    code: str,
    error: PlatformError | None,
    now: datetime,
) -> None:
    row.state = repository.UNCERTAIN if reason == SendFailureReason.uncertain else repository.FAILED
    row.failure = {"reason": reason.value, **_failure_record(code, error)}
    row.finished_at = now
    row.lease_until = None
    row.next_attempt_at = None
    logger.warning("send_failed", send_id=row.send_id, reason=reason.value, code=code)
    await _stage(
        session,
        row,
        "send.failed",
        SendFailed(
            send_id=row.send_id,
            brand_id=row.brand_id,
            case_id=row.case_id,
            connection_id=row.connection_id,
            channel=Channel(row.channel),
            thread_key=row.thread_key,
            kind=SendKind(row.kind),
            attempts=row.attempts,
            reason=reason,
            code=code,
            messages=messages_for(code),
            platform_error=error,
            failed_at=now,
        ),
    )


async def _stage(
    session: AsyncSession, row: Send, event_type: str, data: SendCompleted | SendFailed
) -> None:
    await add_to_outbox(
        session,
        bus_tables,
        Envelope(
            type=event_type, source=SOURCE, key=row.thread_key, data=data, subject=row.send_id
        ),
    )
