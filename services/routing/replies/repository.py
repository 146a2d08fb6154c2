"""Every query of replies, their settings, and what the reply workflow reads of the team and
the case's messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases.models import Case, CaseMessage
from services.routing.models import AccessGrant, Department, Member, MemberDepartment
from services.routing.replies.models import PendingDeliveryReport, Reply, ReplySettings
from shared.db import advisory_xact_lock


async def get_reply(session: AsyncSession, reply_id: str, *, lock: bool = False) -> Reply | None:
    query = select(Reply).where(Reply.id == reply_id)
    if lock:
        query = query.with_for_update()
    reply: Reply | None = await session.scalar(query)
    return reply


async def case_replies(
    session: AsyncSession, case_id: str, *, limit: int, after: tuple[datetime, str] | None
) -> list[Reply]:
    query = select(Reply).where(Reply.case_id == case_id)
    if after is not None:
        query = query.where(_after(Reply.created_at, after))
    query = query.order_by(Reply.created_at, Reply.id).limit(limit)
    return list((await session.scalars(query)).all())


def _after(
    column: SQLColumnExpression[datetime], after: tuple[datetime, str]
) -> ColumnElement[bool]:
    moment, reply_id = after
    return or_(column > moment, and_(column == moment, Reply.id > reply_id))


async def awaiting_approval(
    session: AsyncSession,
    case_conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Reply]:
    """Replies waiting for a reviewer, oldest submission first, of cases `case_conditions`
    keep (the key's brands and departments)."""
    query = (
        select(Reply)
        .join(Case, Case.id == Reply.case_id)
        .where(Reply.status == "awaiting_approval", *case_conditions)
    )
    if after is not None:
        query = query.where(_after(Reply.submitted_at, after))
    query = query.order_by(Reply.submitted_at, Reply.id).limit(limit)
    return list((await session.scalars(query)).all())


async def reply_by_platform_message(
    session: AsyncSession, brand_id: str, platform_message_id: str
) -> Reply | None:
    reply: Reply | None = await session.scalar(
        select(Reply)
        .where(Reply.platform_message_id == platform_message_id, Reply.brand_id == brand_id)
        .with_for_update()
    )
    return reply


async def lock_platform_message(
    session: AsyncSession, brand_id: str, platform_message_id: str
) -> None:
    """Serialise the two paths that meet on one platform message, the send's outcome and a
    delivery report, until the transaction ends (a PostgreSQL transaction advisory lock;
    SQLite runs one writer at a time). Without it each could miss the other's uncommitted
    row and a report kept as pending would never be applied."""
    await advisory_xact_lock(
        session, f"socialcare.routing.delivery.{brand_id}\0{platform_message_id}"
    )


async def lock_thread_deliveries(session: AsyncSession, thread_key: str) -> None:
    """Serialise a watermark report on a conversation with the send outcomes of that
    conversation (taken after `lock_platform_message` and before any reply's row lock, by
    both paths, so neither misses the other's uncommitted reply or pending report)."""
    await advisory_xact_lock(session, f"socialcare.routing.delivery-thread.{thread_key}")


async def replies_sent_up_to(
    session: AsyncSession,
    brand_id: str,
    thread_key: str,
    watermark: datetime,
    *,
    status: str,
    occurred_at: datetime,
) -> list[Reply]:
    """The brand's sent replies in the conversation `thread_key` handed to the platform at or
    before `watermark` (to the millisecond, the watermark's precision), that a `status` report
    at `occurred_at` would still change (not failed, and without an earlier moment of that
    state), locked. Found through the thread's cases (`ix_cases_thread_key_opened_at`, then
    `ix_replies_case_id_created_at`)."""
    moment = Reply.read_at if status == "read" else Reply.delivered_at
    handed_over = func.coalesce(Reply.send_requested_at, Reply.sent_at)
    query = (
        select(Reply)
        .join(Case, Case.id == Reply.case_id)
        .where(
            Case.thread_key == thread_key,
            Case.brand_id == brand_id,
            Reply.brand_id == brand_id,
            Reply.status == "sent",
            handed_over < watermark + timedelta(milliseconds=1),
            or_(Reply.delivery_status.is_(None), Reply.delivery_status != "failed"),
            or_(moment.is_(None), moment > occurred_at),
        )
        .order_by(Reply.id)
        .with_for_update(of=Reply)
    )
    return list((await session.scalars(query)).all())


async def thread_has_reply_sending(
    session: AsyncSession, brand_id: str, thread_key: str, *, other_than: str | None = None
) -> bool:
    """Whether a reply of the conversation waits for its send's outcome (a report on the
    conversation may concern it before `send.completed` says so)."""
    conditions = [
        Case.thread_key == thread_key,
        Case.brand_id == brand_id,
        Reply.case_id == Case.id,
        Reply.status == "sending",
    ]
    if other_than is not None:
        conditions.append(Reply.id != other_than)
    return bool(await session.scalar(select(exists().where(*conditions))))


async def keep_pending_delivery(session: AsyncSession, report: PendingDeliveryReport) -> None:
    """Keep a report that came before its send was recorded; a duplicate adds nothing."""
    values = {
        "brand_id": report.brand_id,
        "platform_message_id": report.platform_message_id,
        "status": report.status,
        "occurred_at": report.occurred_at,
        "received_at": report.received_at,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(PendingDeliveryReport).values(values).on_conflict_do_nothing())


async def take_pending_deliveries(
    session: AsyncSession, brand_id: str, platform_message_id: str
) -> list[PendingDeliveryReport]:
    """The reports kept for this message, removed as they are returned."""
    where = (
        PendingDeliveryReport.brand_id == brand_id,
        PendingDeliveryReport.platform_message_id == platform_message_id,
    )
    rows = list((await session.scalars(select(PendingDeliveryReport).where(*where))).all())
    if rows:
        await session.execute(delete(PendingDeliveryReport).where(*where))
    return rows


async def pending_watermarks(
    session: AsyncSession, brand_id: str, name_prefix: str, *, remove: bool
) -> list[PendingDeliveryReport]:
    """The watermark reports kept for one conversation (their `platform_message_id` starts
    with `name_prefix`), removed as they are returned when `remove`."""
    where = (
        PendingDeliveryReport.brand_id == brand_id,
        PendingDeliveryReport.platform_message_id.startswith(name_prefix, autoescape=True),
    )
    rows = list((await session.scalars(select(PendingDeliveryReport).where(*where))).all())
    if rows and remove:
        await session.execute(delete(PendingDeliveryReport).where(*where))
    return rows


async def latest_inbound(session: AsyncSession, case_id: str) -> CaseMessage | None:
    """The customer's latest message that still exists on the platform."""
    message: CaseMessage | None = await session.scalar(
        select(CaseMessage)
        .where(
            CaseMessage.case_id == case_id,
            CaseMessage.direction == "inbound",
            CaseMessage.deleted_at.is_(None),
        )
        .order_by(CaseMessage.created_at.desc(), CaseMessage.id.desc())
        .limit(1)
    )
    return message


async def message_of_reply(session: AsyncSession, reply_id: str) -> CaseMessage | None:
    message: CaseMessage | None = await session.scalar(
        select(CaseMessage).where(CaseMessage.reply_id == reply_id).limit(1)
    )
    return message


def add_message(session: AsyncSession, message: CaseMessage) -> None:
    session.add(message)


def add_reply(session: AsyncSession, reply: Reply) -> None:
    session.add(reply)


async def get_member(session: AsyncSession, brand_id: str, member_id: str) -> Member | None:
    member: Member | None = await session.scalar(
        select(Member).where(Member.brand_id == brand_id, Member.id == member_id)
    )
    return member


async def member_context(
    session: AsyncSession, brand_id: str, member_id: str, account_id: str | None
) -> tuple[Member, bool, ReplySettings | None] | None:
    """The brand's member, whether they may reply from `account_id`, and the brand's reply
    settings, in one round trip (the reply POST waits on each)."""
    grant = (
        exists().where(
            AccessGrant.member_id == Member.id,
            AccessGrant.account_id == account_id,
            AccessGrant.can_reply.is_(True),
        )
        if account_id is not None
        else false()
    )
    row = (
        await session.execute(
            select(Member, grant.label("may_reply"), ReplySettings)
            .outerjoin(ReplySettings, ReplySettings.brand_id == Member.brand_id)
            .where(Member.brand_id == brand_id, Member.id == member_id)
        )
    ).one_or_none()
    if row is None:
        return None
    member, may_reply, settings = row
    return member, bool(may_reply), settings


async def in_department(session: AsyncSession, member_id: str, brand_id: str, key: str) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    MemberDepartment.member_id == member_id,
                    MemberDepartment.department_id == Department.id,
                    Department.brand_id == brand_id,
                    Department.key == key,
                    Department.enabled.is_(True),
                )
            )
        )
    )


async def get_settings(session: AsyncSession, brand_id: str) -> ReplySettings | None:
    settings: ReplySettings | None = await session.get(ReplySettings, brand_id)
    return settings


def add_settings(session: AsyncSession, settings: ReplySettings) -> None:
    session.add(settings)
