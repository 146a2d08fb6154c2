"""Every query of canned replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    delete,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.canned.models import CannedReply, CannedReplySeed
from services.routing.cases.models import CaseMessage
from services.routing.models import Member
from shared.auth import Principal, brand_condition


def visibility(principal: Principal) -> list[ColumnElement[bool]]:
    """What a key may see: its brands; HR's answers only when it may see HR; with a department
    limit, the brand-wide answers and its departments' own."""
    conditions = [brand_condition(CannedReply.brand_id, principal.brands)]
    if principal.is_admin:
        return conditions
    if not principal.may_see_department("hr"):
        conditions.append(CannedReply.hr.is_(false()))
    if principal.departments is not None:
        conditions.append(
            or_(
                CannedReply.department.is_(None),
                CannedReply.department.in_(sorted(principal.departments)),
            )
        )
    return conditions


def has_intent(session: AsyncSession, intent: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(CannedReply.intents, JSONB).contains([intent])
    escaped = intent.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(CannedReply.intents, String).like(f'%"{escaped}"%', escape="\\")


def no_intent(session: AsyncSession) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_array_length(cast(CannedReply.intents, JSONB)) == 0
    return cast(CannedReply.intents, String) == "[]"


async def list_canned(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int,
    after: tuple[str, str, str, str] | None,
) -> list[CannedReply]:
    """In (brand, language, code) order; `after` is the last row's (brand, lang, code, id)."""
    query = select(CannedReply).where(*conditions)
    if after is not None:
        brand_id, lang, code, canned_id = after
        key = (CannedReply.brand_id, CannedReply.lang, CannedReply.code, CannedReply.id)
        query = query.where(tuple_(*key) > tuple_(brand_id, lang, code, canned_id))
    query = query.order_by(
        CannedReply.brand_id, CannedReply.lang, CannedReply.code, CannedReply.id
    ).limit(limit)
    return list((await session.scalars(query)).all())


async def get_canned(
    session: AsyncSession, canned_id: str, *, lock: bool = False
) -> CannedReply | None:
    query = select(CannedReply).where(CannedReply.id == canned_id)
    if lock:
        query = query.with_for_update()
    found: CannedReply | None = await session.scalar(query)
    return found


async def code_taken(
    session: AsyncSession, brand_id: str, lang: str, code: str, *, other_than: str | None = None
) -> bool:
    query = select(CannedReply.id).where(
        CannedReply.brand_id == brand_id, CannedReply.lang == lang, CannedReply.code == code
    )
    if other_than is not None:
        query = query.where(CannedReply.id != other_than)
    return (await session.scalar(query.limit(1))) is not None


async def delete_canned(session: AsyncSession, canned_id: str) -> None:
    await session.execute(delete(CannedReply).where(CannedReply.id == canned_id))


async def suggestible(
    session: AsyncSession,
    principal: Principal,
    brand_id: str,
    lang: str,
    intent: str | None,
    department: str | None,
    limit: int = 50,
) -> list[CannedReply]:
    """Enabled answers of the brand in `lang` that fit the intent (or any intent) and the
    department (or any department), as the key may see them."""
    fits_intent = no_intent(session)
    if intent is not None:
        fits_intent = or_(has_intent(session, intent), fits_intent)
    fits_department: ColumnElement[bool] = CannedReply.department.is_(None)
    if department is not None:
        fits_department = or_(CannedReply.department == department, fits_department)
    query = (
        select(CannedReply)
        .where(
            *visibility(principal),
            CannedReply.brand_id == brand_id,
            CannedReply.lang == lang,
            CannedReply.enabled.is_(true()),
            fits_intent,
            fits_department,
        )
        .order_by(CannedReply.code, CannedReply.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def inbound_messages(
    session: AsyncSession, case_id: str, limit: int = 50
) -> list[CaseMessage]:
    """The customer's messages of the case, oldest first (the newest `limit`), not deleted."""
    rows = await session.scalars(
        select(CaseMessage)
        .where(
            CaseMessage.case_id == case_id,
            CaseMessage.direction == "inbound",
            CaseMessage.deleted_at.is_(None),
        )
        .order_by(CaseMessage.created_at.desc(), CaseMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(rows.all()))


async def member_name(session: AsyncSession, brand_id: str, member_id: str) -> str | None:
    name: str | None = await session.scalar(
        select(Member.name).where(Member.brand_id == brand_id, Member.id == member_id)
    )
    return name


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return sqlite.insert if dialect == "sqlite" else postgresql.insert


async def has_seed(session: AsyncSession, brand_id: str) -> bool:
    return await session.get(CannedReplySeed, brand_id) is not None


async def claim_seed(session: AsyncSession, brand_id: str, at: datetime) -> bool:
    """Mark the brand as given its default canned replies; False when it already was (also
    by a concurrent first request)."""
    statement = (
        _insert(session)(CannedReplySeed)
        .values(brand_id=brand_id, seeded_at=at)
        .on_conflict_do_nothing(index_elements=[CannedReplySeed.brand_id])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def insert_missing_canned(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert canned replies whose (brand, language, code) is free: the brand's own win."""
    if not rows:
        return
    statement = (
        _insert(session)(CannedReply)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=[CannedReply.brand_id, CannedReply.lang, CannedReply.code]
        )
    )
    await session.execute(statement)
