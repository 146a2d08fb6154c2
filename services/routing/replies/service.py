"""Reply rules: who may write and approve, the guideline check, when approval is needed, the
hand-off to ingest and what the send's outcome does to the reply and its case.

- Author: the member a personal key is bound to (naming another member is 403), or for a
  system key the `author_member_id` it names; a member of the case's brand holding a reply
  grant on the case's account (403 otherwise).
- Check: the guidelines service's check API, synchronously, with the case's language, channel
  and what the customer wrote. Error-level violations, or a check the brand's publish policy
  does not pass, are a 422 carrying the check; nothing is stored or sent. The check
  unreachable is a 503: a reply never goes out unchecked.
- Approval (`approval_reasons`): the case demands it (a rule or a crisis escalation set
  `requires_approval`), the brand's reply settings do for the case's department or priority
  (the SLA policy cell) or for authors with a large reach, or the check's band is below the
  brand's threshold. A reviewer is a member with role reviewer or lead in the case's
  department, never the author.
- Send: `send.requested` through the outbox (`send_id` = reply id; ingest sends it once and
  answers once), chosen by `targets.choose_target`; a private channel's closed 24-hour window
  is a 409 before anything is sent.
- Outcome: `send.completed` → reply sent, the case's first / last response times, a `reply`
  message on the case, and the case resolved (brand setting) or `pending`; `send.failed` →
  reply failed with the platform's error. Delivery reports (WhatsApp statuses, Messenger and
  Instagram receipts) move `delivery_status` forward in the platform's precedence (sent <
  delivered < read; failed ends it), whatever order they arrive in; a report that comes before
  the send is recorded is kept and applied when `send.completed` arrives. A watermark report
  (Messenger / Instagram receipts without message ids) moves every sent reply of the
  conversation handed to the platform at or before the watermark (see `_record_watermark`);
  while a reply of that conversation is still `sending` it is also kept (as
  `watermark:<channel>:<thread>:<ms>` in `pending_delivery_reports`) for that reply's
  `send.completed`.
Every step publishes its `reply.*` event, keyed by the case's thread key.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import guidelines_client
from services.routing.cases import clocks
from services.routing.cases import repository as cases_repository
from services.routing.cases import service as cases_service
from services.routing.cases.brand_routing import load_brand_routing
from services.routing.cases.events import CaseChanges
from services.routing.cases.models import ACTIVE_STATUSES, Case, CaseMessage
from services.routing.guidelines_client import (
    CheckContext,
    GuidelineCheck,
    GuidelinesClient,
    Violation,
)
from services.routing.models import Member
from services.routing.replies import repository
from services.routing.replies.exceptions import (
    AuthorNotAllowedError,
    AuthorRequiredError,
    CannotSendError,
    CaseClosedError,
    GuidelinesUnavailableError,
    GuidelineViolationError,
    NoGuidelineError,
    ReplyNotFoundError,
    ReplyStateError,
    ReplyTextTooLongError,
    ReviewerNotAllowedError,
)
from services.routing.replies.models import PendingDeliveryReport, Reply, ReplySettings
from services.routing.replies.schemas import (
    CheckRead,
    FailureRead,
    ReplyPage,
    ReplyRead,
    ReplySettingsRead,
    ReplySettingsUpdate,
)
from services.routing.replies.targets import Inbound, NoTarget, Target, choose_target, window_closed
from shared.auth import Principal, ensure_brand_writable, ensure_every_department
from shared.bus.outbox import add_many_to_outbox
from shared.bus.tables import BusTables
from shared.errors import BadRequestError
from shared.events.cases import Priority
from shared.events.envelope import Envelope
from shared.events.interactions import Channel, DeliveryStatus, thread_key
from shared.events.replies import ReplyEvent
from shared.events.sends import SendCompleted, SendFailed, SendKind, SendRequested
from shared.limits import unstorable_text
from shared.pagination import fetch_size

logger = structlog.get_logger("socialcare.routing.replies")

SOURCE = "socialcare/routing"
REVIEWER_ROLES = frozenset({"reviewer", "lead"})
BANDS = {"poor": 0, "review": 1, "good": 2}
# Delivery reports only move forward (a late `delivered` after `read` changes nothing); `failed`
# is terminal. Applying any set of reports in any order ends in the same state.
DELIVERY_ORDER = {"sent": 0, "delivered": 1, "read": 2, "failed": 3}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ResultT = TypeVar("ResultT")


# --------------------------------------------------------------------------- reading


def reply_read(reply: Reply) -> ReplyRead:
    return ReplyRead(
        id=reply.id,
        case_id=reply.case_id,
        brand_id=reply.brand_id,
        channel=Channel(reply.channel),
        department=reply.department,
        author_id=reply.author_id,
        text=reply.text,
        status=reply.status,
        revision=reply.revision,
        approval_reasons=list(reply.approval_reasons or []),
        check=CheckRead(
            check_id=reply.check_id,
            passed=reply.check_passed,
            score=reply.check_score,
            band=reply.check_band,
            guideline_version=reply.guideline_version,
        ),
        warnings=[Violation.model_validate(item) for item in reply.violations or []],
        send_kind=reply.send_kind,
        delivery_status=reply.delivery_status,
        platform_message_id=reply.platform_message_id,
        failure=FailureRead.model_validate(reply.failure) if reply.failure else None,
        reviewer_id=reply.reviewer_id,
        review_comment=reply.review_comment,
        created_at=reply.created_at,
        submitted_at=reply.submitted_at,
        approved_at=reply.approved_at,
        rejected_at=reply.rejected_at,
        send_requested_at=reply.send_requested_at,
        sent_at=reply.sent_at,
        failed_at=reply.failed_at,
        delivered_at=reply.delivered_at,
        read_at=reply.read_at,
    )


def encode_cursor(moment: datetime, reply_id: str) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{reply_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        moment, reply_id = base64.urlsafe_b64decode(cursor).decode().split("|", 1)
        position = datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("the cursor is not one this API issued", field="cursor") from exc
    if position.tzinfo is None or unstorable_text(reply_id) is not None or len(reply_id) > 36:
        raise BadRequestError("the cursor is not one this API issued", field="cursor")
    return position, reply_id


async def visible_reply(
    session: AsyncSession, principal: Principal, reply_id: str, *, lock: bool = False
) -> tuple[Reply, Case]:
    """The reply and its case, when the key may see the case (404 otherwise, as missing)."""
    reply = (
        await repository.get_reply(session, reply_id, lock=lock) if len(reply_id) <= 36 else None
    )
    if reply is not None:
        case = await cases_repository.get_case(session, reply.case_id, lock=lock)
        if case is not None and cases_service.may_see(principal, case):
            return reply, case
    raise ReplyNotFoundError(f"no reply {reply_id}", field="reply_id")


async def get_reply(session: AsyncSession, principal: Principal, reply_id: str) -> ReplyRead:
    reply, _ = await visible_reply(session, principal, reply_id)
    return reply_read(reply)


async def list_case_replies(
    session: AsyncSession, principal: Principal, case_id: str, *, limit: int, cursor: str | None
) -> ReplyPage:
    case = await cases_service.visible_case(session, principal, case_id)
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.case_replies(session, case.id, limit=fetch_size(limit), after=after)
    return ReplyPage.from_rows(
        rows, limit, item=reply_read, cursor=lambda row: encode_cursor(row.created_at, row.id)
    )


async def list_approvals(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    department: str | None,
    limit: int,
    cursor: str | None,
) -> ReplyPage:
    conditions = cases_service.visible(principal)
    if brand_id is not None:
        conditions.append(Case.brand_id == brand_id)
    if department is not None:
        conditions.append(Case.department == department)
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.awaiting_approval(
        session, conditions, limit=fetch_size(limit), after=after
    )
    return ReplyPage.from_rows(
        rows, limit, item=reply_read, cursor=lambda row: encode_cursor(row.submitted_at, row.id)
    )


# --------------------------------------------------------------------------- settings


def settings_read(brand_id: str, row: ReplySettings | None) -> ReplySettingsRead:
    if row is None:
        return ReplySettingsRead(
            brand_id=brand_id,
            resolve_on_reply=False,
            approval_departments=[],
            approval_priorities=[],
        )
    return ReplySettingsRead(
        brand_id=row.brand_id,
        resolve_on_reply=row.resolve_on_reply,
        approval_departments=list(row.approval_departments or []),
        approval_priorities=list(row.approval_priorities or []),
        approval_min_followers=row.approval_min_followers,
        approval_below_band=row.approval_below_band,
    )


async def get_settings(
    session: AsyncSession, principal: Principal, brand_id: str
) -> ReplySettingsRead:
    ensure_brand_writable(principal, brand_id)
    return settings_read(brand_id, await repository.get_settings(session, brand_id))


async def put_settings(
    session: AsyncSession, principal: Principal, brand_id: str, data: ReplySettingsUpdate
) -> ReplySettingsRead:
    ensure_brand_writable(principal, brand_id)
    ensure_every_department(principal, "the brand's reply settings")
    row = await repository.get_settings(session, brand_id)
    if row is None:
        row = ReplySettings(brand_id=brand_id)
        repository.add_settings(session, row)
    row.resolve_on_reply = data.resolve_on_reply
    row.approval_departments = list(data.approval_departments)
    row.approval_priorities = [priority.value for priority in data.approval_priorities]
    row.approval_min_followers = data.approval_min_followers
    row.approval_below_band = data.approval_below_band.value if data.approval_below_band else None
    await session.flush()
    return settings_read(brand_id, row)


def approval_reasons(case: Case, settings: ReplySettings | None, band: str) -> list[str]:
    reasons: list[str] = []
    if case.requires_approval:
        reasons.append("case")
    if settings is None:
        return reasons
    if case.department is not None and case.department in (settings.approval_departments or []):
        reasons.append("department")
    if case.priority in (settings.approval_priorities or []):
        reasons.append("priority")
    threshold = settings.approval_min_followers
    if threshold is not None and (case.author_followers or 0) >= threshold:
        reasons.append("reach")
    below = settings.approval_below_band
    if below is not None and BANDS.get(band, 0) < BANDS.get(below, 0):
        reasons.append("band")
    return reasons


# --------------------------------------------------------------------------- events


def reply_envelope(event_type: str, reply: Reply, now: datetime, **extra: Any) -> Envelope:
    data = ReplyEvent(
        reply_id=reply.id,
        case_id=reply.case_id,
        brand_id=reply.brand_id,
        thread_key=reply.thread_key,
        channel=Channel(reply.channel),
        department=reply.department,
        author_id=reply.author_id,
        sent_at=reply.sent_at,
        answers_inbound_at=reply.answers_inbound_at,
        first_check_passed=reply.first_check_passed,
        occurred_at=now,
        status=reply.status,
        revision=reply.revision,
        check_passed=reply.check_passed,
        check_score=reply.check_score,
        check_band=reply.check_band,
        approval_reasons=list(reply.approval_reasons or []),
        reviewer_id=reply.reviewer_id,
        platform_message_id=reply.platform_message_id,
        **extra,
    )
    return Envelope(
        type=event_type, source=SOURCE, key=reply.thread_key, data=data, subject=reply.id
    )


def send_envelope(reply: Reply, now: datetime) -> Envelope:
    data = SendRequested(
        send_id=reply.id,
        brand_id=reply.brand_id,
        case_id=reply.case_id,
        connection_id=reply.connection_id,
        channel=Channel(reply.channel),
        thread_key=reply.thread_key,
        kind=SendKind(reply.send_kind),
        target_id=reply.target_id,
        text=reply.text,
        requested_at=now,
        last_inbound_at=reply.last_inbound_at,
    )
    return Envelope(
        type="send.requested", source=SOURCE, key=reply.thread_key, data=data, subject=reply.id
    )


# --------------------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class Acting:
    """The member a request acts as, whether they may reply on the case's account, and the
    brand's reply settings (read together)."""

    member: Member
    may_reply: bool
    settings: ReplySettings | None


async def acting_member(
    session: AsyncSession,
    principal: Principal,
    case: Case,
    named: str | None,
    *,
    role: str,
    refused: type[AuthorNotAllowedError] | type[ReviewerNotAllowedError],
    field: str,
) -> Acting:
    """The member a request acts as: a personal key's own member, or the one a system key
    names in `field`."""
    brand_id = case.brand_id
    if principal.member_id is not None:
        if named is not None and named != principal.member_id:
            raise refused(
                f"this API key acts as member {principal.member_id}; it cannot act as {named}",
                field=field,
                reason="key_bound_to_another_member",
            )
        if principal.member_brand_id != brand_id:
            raise refused(
                f"this API key's member belongs to another brand than {brand_id}",
                field=field,
                reason="member_of_another_brand",
            )
        member_id = principal.member_id
    elif named is None:
        raise AuthorRequiredError(
            f"this API key is bound to no member: name the {role} in {field}", field=field
        )
    else:
        member_id = named
    found = await repository.member_context(session, brand_id, member_id, case.account_id)
    if found is None:
        raise refused(
            f"{member_id} is not a member of brand {brand_id}",
            field=field,
            reason="not_a_member",
        )
    return Acting(*found)


def ensure_reply_grant(acting: Acting, case: Case) -> None:
    if not acting.may_reply:
        raise AuthorNotAllowedError(
            f"member {acting.member.id} holds no reply grant on the account of case {case.id}",
            field="author_member_id",
            reason="no_reply_grant",
            messages={
                "en": "This member may not reply from this social account.",
                "es": "Este miembro no tiene permiso para responder desde esta cuenta social.",
            },
        )


async def ensure_reviewer(
    session: AsyncSession, principal: Principal, reply: Reply, case: Case, named: str | None
) -> Member:
    reviewer = (
        await acting_member(
            session,
            principal,
            case,
            named,
            role="reviewer",
            refused=ReviewerNotAllowedError,
            field="reviewer_member_id",
        )
    ).member
    if reviewer.id == reply.author_id:
        raise ReviewerNotAllowedError(
            "nobody approves or rejects their own reply",
            field="reviewer_member_id",
            reason="own_reply",
            messages={
                "en": "You cannot review your own reply.",
                "es": "No puede revisar su propia respuesta.",
            },
        )
    if reviewer.role not in REVIEWER_ROLES:
        raise ReviewerNotAllowedError(
            f"member {reviewer.id} is a {reviewer.role}: reviewers and leads review replies",
            field="reviewer_member_id",
            reason="not_a_reviewer",
        )
    department = case.department
    if department is None or not await repository.in_department(
        session, reviewer.id, case.brand_id, department
    ):
        raise ReviewerNotAllowedError(
            f"member {reviewer.id} is not in the case's department {department}",
            field="reviewer_member_id",
            reason="not_in_department",
        )
    return reviewer


# --------------------------------------------------------------------------- drafting


async def _target(session: AsyncSession, case: Case, now: datetime) -> tuple[Target, CaseMessage]:
    message = await repository.latest_inbound(session, case.id)
    inbound = (
        Inbound(
            kind=message.kind,
            external_id=message.external_id,
            author_external_id=message.author_external_id,
            created_at=message.created_at,
        )
        if message is not None
        else None
    )
    try:
        target = choose_target(case.channel, inbound)
    except NoTarget as exc:
        raise CannotSendError(str(exc), reason=exc.code, messages=exc.messages) from exc
    if case.connection_id is None:
        raise CannotSendError(
            f"case {case.id} came from no known connection: nothing to send from",
            reason="no_connection",
            messages={
                "en": "This case has no channel connection to answer from.",
                "es": "Este caso no tiene una conexión de canal desde la que responder.",
            },
        )
    if window_closed(target, now):
        raise CannotSendError(
            "the customer wrote more than 24 hours ago: the platform no longer accepts a "
            "message on this channel",
            reason="window_closed",
            last_inbound_at=target.last_inbound_at.isoformat(),
            messages={
                "en": "The 24-hour window to answer this conversation has closed.",
                "es": "Se ha cerrado la ventana de 24 horas para responder esta conversación.",
            },
        )
    assert message is not None  # choose_target refuses a case without one
    return target, message


def _ensure_length(text: str, target: Target, case: Case) -> None:
    if len(text) <= target.max_length:
        return
    raise ReplyTextTooLongError(
        f"{len(text)} characters; a {target.kind.value} on {case.channel} takes "
        f"{target.max_length} at most",
        field="text",
        reason="too_long",
        limit=target.max_length,
        messages={
            "en": f"The reply is {len(text)} characters long; {case.channel} takes "
            f"{target.max_length} at most here.",
            "es": f"La respuesta tiene {len(text)} caracteres; {case.channel} admite "
            f"{target.max_length} como máximo aquí.",
        },
    )


async def _check(
    guidelines: GuidelinesClient,
    principal: Principal,
    case: Case,
    reply_id: str,
    text: str,
    target: Target,
    inbound: CaseMessage,
) -> GuidelineCheck:
    _ensure_length(text, target, case)
    context = CheckContext(
        inbound_text=inbound.text or None,
        inbound_sentiment=inbound.sentiment_label or case.sentiment_label,
        intent=case.intent,
        customer_name=inbound.author_display_name,
    )
    try:
        check = await guidelines.check(
            case.brand_id,
            text,
            lang=case.lang if _is_language_code(case.lang) else None,
            channel=case.channel,
            context=context,
            reply_id=reply_id,
            case_id=case.id,
            on_behalf_of=principal,
        )
    except guidelines_client.GuidelinesUnavailableError as exc:
        logger.warning("guideline_check_unavailable", case_id=case.id, error=str(exc))
        raise GuidelinesUnavailableError(
            "the guideline check could not be made; nothing was sent, try again",
            messages={
                "en": "The guideline check is unavailable right now; nothing was sent.",
                "es": "La revisión de las pautas no está disponible; no se ha enviado nada.",
            },
        ) from exc
    except guidelines_client.NoGuidelineError as exc:
        raise NoGuidelineError(
            f"brand {case.brand_id} has no guideline: publish one before replying",
            reason="no_guideline",
        ) from exc
    if not check.acceptable:
        raise GuidelineViolationError(
            "the reply breaks the brand's guideline; nothing was sent",
            field="text",
            reason="guideline_violation",
            check_id=check.check_id,
            passed=check.passed,
            score=check.score,
            band=check.band,
            lang=check.lang,
            guideline_version=check.guideline_version,
            violations=[violation.model_dump() for violation in check.violations],
            blockers=[blocker.model_dump() for blocker in check.blockers],
            messages={
                "en": "The reply breaks the brand's guidelines: correct it and send it again.",
                "es": "La respuesta no cumple las pautas de la marca: corríjala y envíela de "
                "nuevo.",
            },
        )
    return check


def _is_language_code(lang: str | None) -> bool:
    """A language the check takes (`es`, `en`): not `und` or a detector's empty answer."""
    return lang is not None and len(lang) == 2 and lang.isalpha() and lang.islower()


def _apply_check(reply: Reply, check: GuidelineCheck) -> None:
    reply.check_id = check.check_id
    reply.check_passed = check.passed
    reply.check_score = check.score
    reply.check_band = check.band
    reply.guideline_version = check.guideline_version
    reply.violations = [item.model_dump() for item in check.violations if item.level != "error"]


def _submit(
    reply: Reply, case: Case, settings: ReplySettings | None, band: str, now: datetime
) -> list[Envelope]:
    """After a passed check: to the reviewer, or straight to ingest."""
    reply.approval_reasons = approval_reasons(case, settings, band)
    reply.submitted_at = now
    envelopes = [reply_envelope("reply.checked", reply, now)]
    if reply.approval_reasons:
        reply.status = "awaiting_approval"
        envelopes.append(reply_envelope("reply.approval_requested", reply, now))
    else:
        envelopes.extend(_hand_off(reply, now))
    return envelopes


def _hand_off(reply: Reply, now: datetime) -> list[Envelope]:
    reply.status = "sending"
    reply.send_requested_at = now
    return [send_envelope(reply, now)]


class Transactions(Protocol):
    """The request's two short transactions around the guideline check (no transaction, nor
    pooled connection, is held while the check runs): `read` ends its transaction when its
    work is done; `write`'s is committed by the request with the work's answer."""

    async def read(self, work: Callable[[AsyncSession], Awaitable[ResultT]]) -> ResultT: ...

    async def write(self, work: Callable[[AsyncSession], Awaitable[ResultT]]) -> ResultT: ...


@dataclass(frozen=True, slots=True)
class Draft:
    """What the check of a new reply needs, read before it."""

    case: Case
    case_version: int
    acting: Acting
    target: Target
    inbound: CaseMessage
    reply_id: str


async def create_reply(
    transactions: Transactions,
    tables: BusTables,
    guidelines: GuidelinesClient,
    principal: Principal,
    case_id: str,
    text: str,
    author_member_id: str | None,
) -> ReplyRead:
    """Read what the check needs, check with no transaction open, then write: the case is
    locked and read again, and what the check relied on validated again if it changed."""

    async def read(session: AsyncSession) -> Draft:
        return await _read_draft(session, principal, case_id, author_member_id)

    draft = await transactions.read(read)
    check = await _check(
        guidelines, principal, draft.case, draft.reply_id, text, draft.target, draft.inbound
    )

    async def write(session: AsyncSession) -> ReplyRead:
        return await _write_reply(session, tables, principal, draft, text, check)

    return await transactions.write(write)


async def _read_draft(
    session: AsyncSession, principal: Principal, case_id: str, author_member_id: str | None
) -> Draft:
    case = await cases_service.visible_case(session, principal, case_id)
    acting, target, inbound = await _ensure_may_reply(session, principal, case, author_member_id)
    return Draft(case, case.version, acting, target, inbound, str(uuid.uuid4()))


async def _ensure_may_reply(
    session: AsyncSession, principal: Principal, case: Case, author_member_id: str | None
) -> tuple[Acting, Target, CaseMessage]:
    """The case open, the author allowed on its account, something to send on."""
    if case.status == "closed":
        raise CaseClosedError(f"case {case.id} is closed", field="case_id", reason="case_closed")
    acting = await acting_member(
        session,
        principal,
        case,
        author_member_id,
        role="author",
        refused=AuthorNotAllowedError,
        field="author_member_id",
    )
    ensure_reply_grant(acting, case)
    target, inbound = await _target(session, case, datetime.now(UTC))
    return acting, target, inbound


async def _write_reply(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    draft: Draft,
    text: str,
    check: GuidelineCheck,
) -> ReplyRead:
    case = await cases_service.visible_case(session, principal, draft.case.id, lock=True)
    if case.status == "closed":
        raise CaseClosedError(f"case {case.id} is closed", field="case_id", reason="case_closed")
    acting, target = draft.acting, draft.target
    if case.version != draft.case_version:
        # It changed during the check (closed, transferred, a new message): validate again.
        acting, target, _ = await _ensure_may_reply(
            session, principal, case, acting.member.id if principal.member_id is None else None
        )
        _ensure_length(text, target, case)
    author = acting.member
    now = datetime.now(UTC)
    reply = Reply(
        id=draft.reply_id,
        case_id=case.id,
        brand_id=case.brand_id,
        thread_key=case.thread_key,
        channel=case.channel,
        department=case.department,
        author_id=author.id,
        author_key_id=principal.key_id,
        text=text,
        revision=1,
        first_check_passed=True,
        answers_inbound_at=(
            case.last_inbound_at
            if case.last_response_at is None or case.last_inbound_at > case.last_response_at
            else None
        ),
        send_kind=target.kind.value,
        target_id=target.target_id,
        connection_id=case.connection_id,
        last_inbound_at=target.last_inbound_at,
        created_at=now,
        submitted_at=now,
        status="awaiting_approval",
    )
    _apply_check(reply, check)
    repository.add_reply(session, reply)
    envelopes = [reply_envelope("reply.drafted", reply, now)]
    envelopes.extend(_submit(reply, case, acting.settings, check.band, now))
    await session.flush()
    await add_many_to_outbox(session, tables, envelopes)
    return reply_read(reply)


async def edit_reply(
    transactions: Transactions,
    tables: BusTables,
    guidelines: GuidelinesClient,
    principal: Principal,
    reply_id: str,
    text: str,
    author_member_id: str | None,
) -> ReplyRead:
    """The author's corrected text: a new check (no transaction open while it runs), then the
    reviewer again (or the send)."""

    async def read(session: AsyncSession) -> Draft:
        return await _read_edit(session, principal, reply_id, author_member_id)

    draft = await transactions.read(read)
    check = await _check(
        guidelines, principal, draft.case, reply_id, text, draft.target, draft.inbound
    )

    async def write(session: AsyncSession) -> ReplyRead:
        return await _write_edit(session, tables, principal, draft, text, check)

    return await transactions.write(write)


def _ensure_editable(reply: Reply) -> None:
    if reply.status not in ("awaiting_approval", "rejected"):
        raise ReplyStateError(
            f"the reply is {reply.status}: only a reply waiting for or refused approval is edited",
            field="reply_id",
            reason=f"reply_{reply.status}",
        )


async def _read_edit(
    session: AsyncSession, principal: Principal, reply_id: str, author_member_id: str | None
) -> Draft:
    reply, case = await visible_reply(session, principal, reply_id)
    _ensure_editable(reply)
    if case.status == "closed":
        raise CaseClosedError(f"case {case.id} is closed", field="case_id", reason="case_closed")
    acting = await acting_member(
        session,
        principal,
        case,
        author_member_id,
        role="author",
        refused=AuthorNotAllowedError,
        field="author_member_id",
    )
    if acting.member.id != reply.author_id:
        raise AuthorNotAllowedError(
            "only the reply's author edits it", field="author_member_id", reason="not_the_author"
        )
    ensure_reply_grant(acting, case)
    target, inbound = await _target(session, case, datetime.now(UTC))
    return Draft(case, case.version, acting, target, inbound, reply.id)


async def _write_edit(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    draft: Draft,
    text: str,
    check: GuidelineCheck,
) -> ReplyRead:
    # Locked only now, after the check's round trip: a reviewer may have acted meanwhile.
    reply, case = await visible_reply(session, principal, draft.reply_id, lock=True)
    if reply.status not in ("awaiting_approval", "rejected"):
        raise ReplyStateError(
            f"the reply became {reply.status} meanwhile", field="reply_id", reason="changed"
        )
    if case.status == "closed":
        raise CaseClosedError(f"case {case.id} is closed", field="case_id", reason="case_closed")
    acting, target = draft.acting, draft.target
    if case.version != draft.case_version:
        acting, target, _ = await _ensure_may_reply(
            session, principal, case, acting.member.id if principal.member_id is None else None
        )
        _ensure_length(text, target, case)
    now = datetime.now(UTC)
    reply.text = text
    reply.revision += 1
    reply.send_kind = target.kind.value
    reply.target_id = target.target_id
    reply.last_inbound_at = target.last_inbound_at
    reply.reviewer_id = None
    reply.review_comment = None
    reply.rejected_at = None
    _apply_check(reply, check)
    envelopes = [reply_envelope("reply.drafted", reply, now)]
    envelopes.extend(_submit(reply, case, acting.settings, check.band, now))
    await session.flush()
    await add_many_to_outbox(session, tables, envelopes)
    return reply_read(reply)


# --------------------------------------------------------------------------- review


async def _awaiting_review(
    session: AsyncSession, principal: Principal, reply_id: str
) -> tuple[Reply, Case]:
    """The reply (locked) and its case, when the reply waits for a reviewer; 409 otherwise."""
    reply, case = await visible_reply(session, principal, reply_id, lock=True)
    if reply.status != "awaiting_approval":
        raise ReplyStateError(
            f"the reply is {reply.status}, not awaiting approval",
            field="reply_id",
            reason=f"reply_{reply.status}",
        )
    return reply, case


async def approve_reply(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    reply_id: str,
    comment: str | None,
    reviewer_member_id: str | None,
) -> ReplyRead:
    reply, case = await _awaiting_review(session, principal, reply_id)
    if case.status == "closed":
        raise CaseClosedError(f"case {case.id} is closed", field="case_id", reason="case_closed")
    reviewer = await ensure_reviewer(session, principal, reply, case, reviewer_member_id)
    now = datetime.now(UTC)
    target, _ = await _target(session, case, now)  # the window may have closed while it waited
    reply.reviewer_id = reviewer.id
    reply.review_comment = comment
    reply.approved_at = now
    reply.last_inbound_at = target.last_inbound_at
    envelopes = [reply_envelope("reply.approved", reply, now, comment=comment)]
    envelopes.extend(_hand_off(reply, now))
    await session.flush()
    await add_many_to_outbox(session, tables, envelopes)
    return reply_read(reply)


async def reject_reply(
    session: AsyncSession,
    tables: BusTables,
    principal: Principal,
    reply_id: str,
    comment: str,
    reviewer_member_id: str | None,
) -> ReplyRead:
    reply, case = await _awaiting_review(session, principal, reply_id)
    reviewer = await ensure_reviewer(session, principal, reply, case, reviewer_member_id)
    now = datetime.now(UTC)
    reply.status = "rejected"
    reply.reviewer_id = reviewer.id
    reply.review_comment = comment
    reply.rejected_at = now
    await session.flush()
    await add_many_to_outbox(
        session, tables, [reply_envelope("reply.rejected", reply, now, comment=comment)]
    )
    return reply_read(reply)


# --------------------------------------------------------------------------- outcomes


async def record_sent(session: AsyncSession, tables: BusTables, outcome: SendCompleted) -> None:
    """`send.completed`: the reply is sent; its case learns its response times, shows the reply
    among its messages and is resolved (brand setting) or waits for the customer."""
    message_id = outcome.platform_message_id
    # Before the reply's row lock, in the order `record_delivery` takes them (no deadlock).
    await repository.lock_platform_message(session, outcome.brand_id, message_id)
    await repository.lock_thread_deliveries(session, outcome.thread_key)
    reply = await repository.get_reply(session, outcome.send_id, lock=True)
    if reply is None or reply.status in ("sent", "failed"):
        return  # not ours, or already settled (ingest answers once; this is a redelivery)
    case = await cases_repository.get_case(session, reply.case_id, lock=True)
    now = datetime.now(UTC)
    reply.status = "sent"
    reply.sent_at = outcome.sent_at
    reply.platform_message_id = message_id
    if reply.delivery_status is None:
        reply.delivery_status = "sent"
    early = await repository.take_pending_deliveries(session, outcome.brand_id, message_id)
    early += await _pending_watermarks_covering(session, reply)
    for report in sorted(early, key=lambda row: DELIVERY_ORDER[row.status]):
        apply_delivery(reply, report.status, report.occurred_at)
    business = await _business_seconds(session, reply, case)
    envelopes = [reply_envelope("reply.sent", reply, now, **business)]
    await session.flush()
    await add_many_to_outbox(session, tables, envelopes)
    if case is not None:
        await _case_answered(session, tables, case, reply, now)


async def _business_seconds(
    session: AsyncSession, reply: Reply, case: Case | None
) -> dict[str, float | None]:
    """The reply's response times in business hours of the department that handled it: from
    the case's first inbound message (first response time, when this is the first reply) and
    from the message it answers (next response time)."""
    if reply.sent_at is None or case is None:
        return {}
    return await cases_service.department_business_seconds(
        session,
        reply.brand_id,
        reply.department or case.department,
        {
            "first_inbound_business_seconds": (case.first_inbound_at, reply.sent_at),
            "answers_inbound_business_seconds": (reply.answers_inbound_at, reply.sent_at),
        },
    )


async def _case_answered(
    session: AsyncSession, tables: BusTables, case: Case, reply: Reply, now: datetime
) -> None:
    sent_at = reply.sent_at or now
    if await repository.message_of_reply(session, reply.id) is None:
        repository.add_message(
            session,
            CaseMessage(
                id=str(uuid.uuid4()),
                case_id=case.id,
                reply_id=reply.id,
                direction="reply",
                kind=reply.send_kind,
                external_id=reply.platform_message_id,
                text=reply.text,
                author_external_id=reply.author_id,
                created_at=sent_at,
                received_at=now,
            ),
        )
        case.message_count += 1
    changes = CaseChanges(tables, now)
    changed: dict[str, list[object]] = {}
    if case.first_response_at is None:
        case.first_response_at = sent_at
        changed["first_response_at"] = [None, sent_at.isoformat()]
    if case.last_response_at is None or sent_at > case.last_response_at:
        changed["last_response_at"] = [
            case.last_response_at.isoformat() if case.last_response_at else None,
            sent_at.isoformat(),
        ]
        case.last_response_at = sent_at
    settings = await repository.get_settings(session, case.brand_id)
    event_type = "case.updated"
    if case.status in ACTIVE_STATUSES:
        answered = case.last_inbound_at <= sent_at
        if settings is not None and settings.resolve_on_reply and answered:
            changed["status"] = [case.status, "resolved"]
            case.status = "resolved"
            await cases_service.mark_resolved(session, case, now)
            event_type = "case.resolved"
            await cases_service.leave_active(session, changes, case)
        else:
            if case.status == "open" and answered:
                changed["status"] = ["open", "pending"]
                case.status = "pending"
            brand = await load_brand_routing(session, case.brand_id)
            clocks.apply_plan(
                case, brand.sla_for(case.department, Priority(case.priority), case.sla_policy_id)
            )
    if not changed:
        return
    case.version += 1
    changes.record(case, "replied", actor=reply.author_id, changes=changed)
    changes.publish(event_type, case, actor=reply.author_id, changed=sorted(changed))
    await changes.write(session)


async def record_failed(session: AsyncSession, tables: BusTables, outcome: SendFailed) -> None:
    reply = await repository.get_reply(session, outcome.send_id, lock=True)
    if reply is None or reply.status in ("sent", "failed"):
        return
    now = datetime.now(UTC)
    platform_error = outcome.platform_error.model_dump() if outcome.platform_error else None
    reply.status = "failed"
    reply.failed_at = outcome.failed_at
    reply.failure = {
        "reason": outcome.reason.value,
        "code": outcome.code,
        "messages": dict(outcome.messages),
        "platform_error": platform_error,
    }
    await session.flush()
    await add_many_to_outbox(
        session,
        tables,
        [
            reply_envelope(
                "reply.failed",
                reply,
                now,
                failure_reason=outcome.reason.value,
                failure_code=outcome.code,
                failure_messages=dict(outcome.messages),
                platform_error=platform_error,
            )
        ],
    )


async def record_delivery(session: AsyncSession, report: DeliveryStatus) -> None:
    """A platform's delivery report on a message we sent (WhatsApp statuses, Messenger and
    Instagram receipts naming a mid), or with a watermark on a whole conversation. When no
    reply names the message yet (the report outran `send.completed`), it is kept for it; a
    report on a message that is not ours is kept too and purged later, never an error."""
    if report.status not in DELIVERY_ORDER:
        return  # `deleted` and anything newer say nothing about delivery
    if report.watermark is not None:
        await _record_watermark(session, report, report.watermark)
        return
    await repository.lock_platform_message(session, report.brand_id, report.external_id)
    reply = await repository.reply_by_platform_message(session, report.brand_id, report.external_id)
    if reply is None:
        await repository.keep_pending_delivery(
            session,
            PendingDeliveryReport(
                brand_id=report.brand_id,
                platform_message_id=report.external_id,
                status=report.status,
                occurred_at=report.occurred_at,
                received_at=datetime.now(UTC),
            ),
        )
        return
    apply_delivery(reply, report.status, report.occurred_at)
    await session.flush()


# A watermark says how far the customer got: only these states have one.
WATERMARK_STATES = frozenset({"delivered", "read"})
# `pending_delivery_reports.platform_message_id` is 200 characters long.
_PENDING_NAME_LENGTH = 200


async def _record_watermark(
    session: AsyncSession, report: DeliveryStatus, watermark: datetime
) -> None:
    """Every sent reply of the conversation covered by the watermark moves to
    `report.status`, by `apply_delivery`'s rules (never backwards; failed stays failed).
    A reply still `sending` may be covered too once its send is recorded: the report is then
    kept for `record_sent`.

    Which replies a watermark covers: Meta's watermark is the platform time of the latest
    message delivered / read, and the platform stamps our message between our hand-off
    (`send_requested_at`) and its API answer, which is later than that stamp (`sent_at`
    is when ingest recorded the answer). Comparing the watermark with `sent_at` would
    therefore miss the very message the customer just read; a reply counts as covered when
    it was handed over at or before the watermark. The only misreading left is a watermark
    of another page message stamped while this one was still in flight."""
    if report.status not in WATERMARK_STATES:
        return
    key = thread_key(report.brand_id, report.channel.value, report.thread_external_id)
    await repository.lock_thread_deliveries(session, key)
    replies = await repository.replies_sent_up_to(
        session,
        report.brand_id,
        key,
        watermark,
        status=report.status,
        occurred_at=report.occurred_at,
    )
    for reply in replies:
        apply_delivery(reply, report.status, report.occurred_at)
    if await repository.thread_has_reply_sending(session, report.brand_id, key):
        name = _watermark_prefix(report.brand_id, key) + str(_epoch_milliseconds(watermark))
        if len(name) <= _PENDING_NAME_LENGTH:
            await repository.keep_pending_delivery(
                session,
                PendingDeliveryReport(
                    brand_id=report.brand_id,
                    platform_message_id=name,
                    status=report.status,
                    occurred_at=report.occurred_at,
                    received_at=datetime.now(UTC),
                ),
            )
    await session.flush()


async def _pending_watermarks_covering(
    session: AsyncSession, reply: Reply
) -> list[PendingDeliveryReport]:
    """The kept watermark reports of the reply's conversation that cover it (handed over at
    or before the watermark, see `_record_watermark`); removed once no other reply of the
    conversation is still sending."""
    if reply.sent_at is None:
        return []
    prefix = _watermark_prefix(reply.brand_id, reply.thread_key)
    others_sending = await repository.thread_has_reply_sending(
        session, reply.brand_id, reply.thread_key, other_than=reply.id
    )
    rows = await repository.pending_watermarks(
        session, reply.brand_id, prefix, remove=not others_sending
    )
    handed_ms = _epoch_milliseconds(reply.send_requested_at or reply.sent_at)
    covering = []
    for row in rows:
        watermark_ms = row.platform_message_id.removeprefix(prefix)
        if watermark_ms.isdigit() and int(watermark_ms) >= handed_ms:
            covering.append(row)
    return covering


def _watermark_prefix(brand_id: str, key: str) -> str:
    """`watermark:<channel>:<thread>:`, the name a conversation's kept watermarks start with
    (the brand is a column of its own)."""
    return f"watermark:{key.removeprefix(f'{brand_id}:')}:"


def _epoch_milliseconds(moment: datetime) -> int:
    # Integer arithmetic: a float product could round a millisecond watermark down.
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def apply_delivery(reply: Reply, status: str, occurred_at: datetime) -> None:
    """Move the reply's delivery state forward: sent < delivered < read, and failed ends it.
    A `read` implies `delivered` (WhatsApp sends no `delivered` for a message read at once);
    each moment is the earliest report of it, so duplicates and late reports change nothing."""
    current = reply.delivery_status
    if current == "failed":
        return
    if DELIVERY_ORDER[status] > DELIVERY_ORDER.get(current or "", -1):
        reply.delivery_status = status
    if status in ("delivered", "read"):
        reply.delivered_at = _earliest(reply.delivered_at, occurred_at)
    if status == "read":
        reply.read_at = _earliest(reply.read_at, occurred_at)


def _earliest(known: datetime | None, moment: datetime) -> datetime:
    return moment if known is None or moment < known else known
