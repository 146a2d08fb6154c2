"""Canned replies: the rules behind the API, and suggestions for a case.

Saving: the text may use only the known variables (anything else in `{{ }}` is a 422 naming
them); then it is checked against the brand's current guideline through the guidelines
service, with plausible values in place of the variables (so the check reads what a customer
will read) and every span mapped back onto the stored text. An error-level violation, or one
the brand's publish policy blocks, refuses the save (422, with the check's violations);
warnings are stored and returned. A brand without a guideline saves unchecked
(`check_status: unchecked`); the guidelines service unreachable is a 503 and nothing is saved.
As with replies, a save is a short reading transaction, the check with no transaction open (nor
the row locked, nor a pooled connection held), then a short writing one that validates again
what may have changed meanwhile.

Visibility: a key sees its brands' answers; HR's (department `hr`, or fitting an HR intent)
only when it may see HR, as with cases; a key limited to departments sees the brand-wide
answers and its departments' own, and writes only its departments' own.

Defaults: a brand's first list of its canned replies (`brand_id`) or first suggestions get
the default set (`canned/defaults.py`: greeting, continue by private message with the order
number, apology with the next step, thanks for an idea, hand-off; Spanish and English), once:
they are the brand's to edit, disable or delete, and are never seeded again (a deployment
turns the seeding off with `SOCIALCARE_ROUTING_CANNED_DEFAULTS=false`). They pass the
shipped guideline packs in any formality; like any canned reply they are checked against the
brand's own guideline when edited (and every reply is checked when drafted).

Suggestions for a case: the enabled answers in the case's language that fit its intent (or
any intent) and its department (or any department), ranked (intent named > any intent, the
case's department > any department, every variable known > some missing), with the case's
values filled in: the customer's display name (else @handle), an order number found in the
customer's messages, the assignee's name. None in the case's language: the other language's,
flagged `fallback`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.canned import repository, templates
from services.routing.canned.defaults import DEFAULT_CANNED_REPLIES
from services.routing.canned.exceptions import (
    CannedForbiddenError,
    CannedReplyChangedError,
    CannedReplyNotFoundError,
    DuplicateCodeError,
    GuidelineViolationError,
    UnknownVariablesError,
)
from services.routing.canned.models import CannedReply
from services.routing.canned.schemas import (
    CannedReplyCreate,
    CannedReplyPage,
    CannedReplyRead,
    CannedReplyUpdate,
    CheckStatus,
    Language,
    Suggestion,
    SuggestionList,
)
from services.routing.cases import repository as cases_repository
from services.routing.cases.brand_routing import HR_INTENTS
from services.routing.cases.service import visible_case
from services.routing.guidelines_client import (
    CheckContext,
    GuidelineCheck,
    GuidelinesClient,
    NoGuidelineError,
    Violation,
)
from services.routing.replies.service import Transactions
from services.routing.team.exceptions import department_not_found
from services.routing.team.service import ensure_brand
from shared.auth import Principal, ensure_brand_writable
from shared.errors import BadRequestError
from shared.pagination import fetch_size

BLOCKING = "blocking_violation"


def now() -> datetime:
    return datetime.now(UTC)


SEEDED_BY = "socialcare-defaults"


# --------------------------------------------------------------------------- defaults


async def ensure_default_canned(session: AsyncSession, brand_id: str) -> None:
    """Give a brand seen for the first time the default canned replies (safe under concurrent
    first requests; a code the brand already uses keeps the brand's own)."""
    if await repository.has_seed(session, brand_id):
        return
    at = now()
    if not await repository.claim_seed(session, brand_id, at):
        return
    rows = []
    for default in DEFAULT_CANNED_REPLIES:
        intents = list(default.intents)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "brand_id": brand_id,
                "lang": default.lang,
                "code": default.code,
                "title": default.title,
                "text": default.text,
                "variables": templates.variables_of(default.text),
                "intents": intents,
                "department": default.department,
                "hr": is_hr(default.department, intents),
                "enabled": True,
                "warnings": [],
                "guideline_version": None,
                "checked_at": None,
                "version": 1,
                "created_by": SEEDED_BY,
                "updated_by": SEEDED_BY,
                "created_at": at,
                "updated_at": at,
            }
        )
    await repository.insert_missing_canned(session, rows)


# --------------------------------------------------------------------------- reading


def check_status(row: CannedReply) -> CheckStatus:
    if row.guideline_version is None:
        return CheckStatus.unchecked
    return CheckStatus.warnings if row.warnings else CheckStatus.passed


def canned_read(row: CannedReply) -> CannedReplyRead:
    return CannedReplyRead(
        id=row.id,
        brand_id=row.brand_id,
        lang=Language(row.lang),
        code=row.code,
        title=row.title,
        text=row.text,
        variables=list(row.variables or []),
        intents=list(row.intents or []),
        department=row.department,
        enabled=row.enabled,
        check_status=check_status(row),
        warnings=[Violation.model_validate(item) for item in row.warnings or []],
        guideline_version=row.guideline_version,
        checked_at=row.checked_at,
        version=row.version,
        created_by=row.created_by,
        updated_by=row.updated_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def is_hr(department: str | None, intents: list[str]) -> bool:
    return department == "hr" or any(intent in HR_INTENTS for intent in intents)


def may_see(principal: Principal, row: CannedReply) -> bool:
    if not principal.allows_brand(row.brand_id):
        return False
    if principal.is_admin:
        return True
    if row.hr and not principal.may_see_department("hr"):
        return False
    if principal.departments is not None and row.department is not None:
        return row.department in principal.departments
    return True


def _not_found(canned_id: str) -> CannedReplyNotFoundError:
    return CannedReplyNotFoundError(
        f"no canned reply {canned_id}",
        f"no existe la respuesta predefinida {canned_id}",
        field="canned_reply_id",
    )


async def get_canned(
    session: AsyncSession, principal: Principal, canned_id: str, *, lock: bool = False
) -> CannedReply:
    row = (
        await repository.get_canned(session, canned_id, lock=lock) if len(canned_id) <= 36 else None
    )
    if row is None or not may_see(principal, row):
        raise _not_found(canned_id)
    return row


def encode_cursor(row: CannedReply) -> str:
    raw = json.dumps([row.brand_id, row.lang, row.code, row.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str, str, str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("the cursor is not one this API issued", field="cursor") from exc
    if (
        not isinstance(values, list)
        or len(values) != 4
        or not all(isinstance(value, str) and "\x00" not in value for value in values)
    ):
        raise BadRequestError("the cursor is not one this API issued", field="cursor")
    return values[0], values[1], values[2], values[3]


async def list_canned(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str | None,
    lang: Language | None,
    intent: str | None,
    code: str | None,
    department: str | None,
    enabled: bool | None,
    limit: int,
    cursor: str | None,
    seed_defaults: bool = True,
) -> CannedReplyPage:
    if seed_defaults and brand_id is not None and principal.allows_brand(brand_id):
        await ensure_default_canned(session, brand_id)
    conditions = repository.visibility(principal)
    simple: list[tuple[Any, Any]] = [
        (CannedReply.brand_id, brand_id),
        (CannedReply.lang, lang.value if lang else None),
        (CannedReply.code, code),
        (CannedReply.department, department),
        (CannedReply.enabled, enabled),
    ]
    conditions.extend(column == value for column, value in simple if value is not None)
    if intent is not None:
        conditions.append(repository.has_intent(session, intent))
    rows = await repository.list_canned(
        session,
        conditions,
        limit=fetch_size(limit),
        after=decode_cursor(cursor) if cursor else None,
    )
    return CannedReplyPage.from_rows(rows, limit, item=canned_read, cursor=encode_cursor)


# --------------------------------------------------------------------------- saving


def _ensure_may_write(principal: Principal, department: str | None, intents: list[str]) -> None:
    if principal.is_admin:
        return
    if is_hr(department, intents) and not principal.may_see_department("hr"):
        raise CannedForbiddenError(
            "HR's canned replies are written only with an API key limited to hr",
            "las respuestas predefinidas de RR. HH. solo se escriben con una clave limitada a hr",
            field="department",
            reason="hr_only",
        )
    if principal.departments is not None and (
        department is None or department not in principal.departments
    ):
        raise CannedForbiddenError(
            "an API key limited to departments writes only its departments' canned replies",
            "una clave limitada a departamentos solo escribe las respuestas de sus departamentos",
            field="department",
            reason="department_limited",
        )


def _ensure_variables(text: str) -> list[str]:
    unknown = templates.unknown_variables(text)
    if unknown:
        names = ", ".join(unknown)
        known = ", ".join("{{" + name + "}}" for name in templates.VARIABLES)
        raise UnknownVariablesError(
            f"unknown variables: {names}; the known ones are {known}",
            f"variables desconocidas: {names}; las conocidas son {known}",
            field="text",
            reason="unknown_variables",
            unknown_variables=unknown,
            known_variables=list(templates.VARIABLES),
        )
    return templates.variables_of(text)


async def _ensure_department(session: AsyncSession, brand_id: str, key: str | None) -> None:
    if key is None:
        return
    await ensure_brand(session, brand_id)  # a brand's first use creates its departments
    if not await cases_repository.department_exists(session, brand_id, key):
        raise department_not_found(brand_id, key)


async def _ensure_code_free(
    session: AsyncSession, brand_id: str, lang: str, code: str, other_than: str | None = None
) -> None:
    if await repository.code_taken(session, brand_id, lang, code, other_than=other_than):
        raise _duplicate(brand_id, lang, code)


def _duplicate(brand_id: str, lang: str, code: str) -> DuplicateCodeError:
    return DuplicateCodeError(
        f"brand {brand_id} already has a canned reply {code} in {lang}",
        f"la marca {brand_id} ya tiene una respuesta predefinida {code} en {lang}",
        field="code",
    )


def _mapped(filled: templates.Filled, template: str, violation: Violation) -> dict[str, Any]:
    start, end = filled.to_template(violation.span.start, violation.span.end)
    mapped = violation.model_copy(
        update={"span": violation.span.model_copy(update={"start": start, "end": end})}
    )
    mapped.match = template[start:end]
    return mapped.model_dump(mode="json")


async def check_text(
    guidelines: GuidelinesClient,
    principal: Principal,
    brand_id: str,
    lang: str,
    text: str,
    intents: list[str],
) -> tuple[list[dict[str, Any]], int | None]:
    """Check the template; return its warnings (spans on the template) and the guideline
    version, or refuse it (422). (`[]`, None) when the brand has no guideline."""
    filled = templates.fill(text, templates.sample_values(lang))
    context = CheckContext(intent=intents[0] if intents else None)
    try:
        result: GuidelineCheck = await guidelines.check(
            brand_id, filled.text, lang=lang, context=context, on_behalf_of=principal
        )
    except NoGuidelineError:
        return [], None
    blocking = {rule for b in result.blockers if b.code == BLOCKING for rule in b.rule_ids}
    refused = [v for v in result.violations if v.level == "error" or v.rule_id in blocking]
    if refused:
        raise GuidelineViolationError(
            "the text breaks the brand's guideline: correct it and save again",
            "el texto incumple la guía de la marca: corríjalo y vuelva a guardarlo",
            field="text",
            reason="guideline_violation",
            violations=[_mapped(filled, text, v) for v in result.violations],
            blockers=[b.model_dump(mode="json") for b in result.blockers],
            score=result.score,
            guideline_version=result.guideline_version,
        )
    warnings = [_mapped(filled, text, v) for v in result.violations]
    return warnings, result.guideline_version


async def create_canned(
    transactions: Transactions,
    guidelines: GuidelinesClient,
    principal: Principal,
    data: CannedReplyCreate,
) -> CannedReply:
    """Validate, check the text with no transaction open, then insert. What is refused
    before the check (a forbidden department, unknown variables or department, a taken code)
    never reaches the guidelines service; a save the check refuses stores no canned reply (a
    brand's first use of a department still creates its default departments, in the read)."""
    ensure_brand_writable(principal, data.brand_id)
    intents = [intent.value for intent in data.intents]
    _ensure_may_write(principal, data.department, intents)
    variables = _ensure_variables(data.text)
    brand_id, lang, code = data.brand_id, data.lang.value, data.code

    async def read(session: AsyncSession) -> None:
        await _ensure_department(session, brand_id, data.department)
        await _ensure_code_free(session, brand_id, lang, code)

    await transactions.read(read)
    warnings, guideline_version = await check_text(
        guidelines, principal, brand_id, lang, data.text, intents
    )

    async def write(session: AsyncSession) -> CannedReply:
        # The department may have gone during the check; a code taken meanwhile is the unique
        # constraint's 409 when the row is flushed.
        await _ensure_department(session, brand_id, data.department)
        at = now()
        row = CannedReply(
            id=str(uuid.uuid4()),
            brand_id=brand_id,
            lang=lang,
            code=code,
            title=data.title,
            text=data.text,
            variables=variables,
            intents=intents,
            department=data.department,
            hr=is_hr(data.department, intents),
            enabled=data.enabled,
            warnings=warnings,
            guideline_version=guideline_version,
            checked_at=at,
            version=1,
            created_by=principal.key_id,
            updated_by=principal.key_id,
            created_at=at,
            updated_at=at,
        )
        await _flush(session, row, brand_id, lang, code)
        return row

    return await transactions.write(write)


async def _flush(
    session: AsyncSession, row: CannedReply | None, brand_id: str, lang: str, code: str
) -> None:
    """Flush, a concurrent save of the same code being a 409 (the unique constraint)."""
    try:
        async with session.begin_nested():
            if row is not None:
                session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise _duplicate(brand_id, lang, code) from exc


@dataclass(frozen=True, slots=True)
class _Change:
    """What a PATCH makes of a canned reply as it was read: its new values, and whether the
    guideline check must read them (a new text or new intents)."""

    brand_id: str
    lang: str
    version: int
    text: str
    code: str
    department: str | None
    intents: list[str]
    variables: list[str] | None  # None: the text is not changed
    rechecked: bool


def _changed(principal: Principal, row: CannedReply, data: CannedReplyUpdate) -> _Change:
    """The PATCH applied to `row` on paper: a stale `version`, a department or HR reply the key
    may not write, and unknown variables are refused here (no query, no check)."""
    if data.version is not None and data.version != row.version:
        raise CannedReplyChangedError(
            f"the canned reply is at version {row.version}, not {data.version}: read it again",
            f"la respuesta está en la versión {row.version}, no en la {data.version}: léala de "
            "nuevo",
            field="version",
        )
    fields = data.model_fields_set
    department = data.department if "department" in fields else row.department
    intents = [i.value for i in data.intents] if data.intents is not None else list(row.intents)
    _ensure_may_write(principal, row.department, list(row.intents))
    _ensure_may_write(principal, department, intents)
    text = data.text if data.text is not None else row.text
    return _Change(
        brand_id=row.brand_id,
        lang=row.lang,
        version=row.version,
        text=text,
        code=data.code if data.code is not None else row.code,
        department=department,
        intents=intents,
        variables=_ensure_variables(text) if data.text is not None else None,
        rechecked=data.text is not None or data.intents is not None,
    )


async def _ensure_change_fits(session: AsyncSession, row: CannedReply, change: _Change) -> None:
    """A new department exists; a new code is free in the brand and language."""
    if change.department != row.department:
        await _ensure_department(session, row.brand_id, change.department)
    if change.code != row.code:
        await _ensure_code_free(session, row.brand_id, row.lang, change.code, other_than=row.id)


async def update_canned(
    transactions: Transactions,
    guidelines: GuidelinesClient,
    principal: Principal,
    canned_id: str,
    data: CannedReplyUpdate,
) -> CannedReply:
    """Validate on the reply as read, check a new text or new intents with no transaction
    open (nor the row locked), then lock the row and write. A change made by someone else
    during the check is kept when the check still holds (it read the same text and intents);
    otherwise the save is a 409 to read the reply again."""

    async def read(session: AsyncSession) -> _Change:
        row = await get_canned(session, principal, canned_id)
        change = _changed(principal, row, data)
        await _ensure_change_fits(session, row, change)
        return change

    planned = await transactions.read(read)
    checked = None
    if planned.rechecked:
        checked = await check_text(
            guidelines,
            principal,
            planned.brand_id,
            planned.lang,
            planned.text,
            planned.intents,
        )

    async def write(session: AsyncSession) -> CannedReply:
        row = await get_canned(session, principal, canned_id, lock=True)
        change = planned
        if row.version != planned.version:
            # Saved by someone else during the check: the PATCH applies to what is stored now.
            change = _changed(principal, row, data)
            if change.rechecked and (change.text, change.intents) != (
                planned.text,
                planned.intents,
            ):
                raise CannedReplyChangedError(
                    "the canned reply changed while its text was checked: read it again",
                    "la respuesta cambió mientras se revisaba su texto: léala de nuevo",
                    field="version",
                )
            await _ensure_change_fits(session, row, change)
        if change.variables is not None:
            row.variables = change.variables
        if checked is not None:
            row.warnings, row.guideline_version = checked
            row.checked_at = now()
        row.text, row.code, row.intents = change.text, change.code, change.intents
        row.department = change.department
        row.hr = is_hr(change.department, change.intents)
        if data.title is not None:
            row.title = data.title
        if data.enabled is not None:
            row.enabled = data.enabled
        row.version += 1
        row.updated_by = principal.key_id
        row.updated_at = now()
        await _flush(session, None, row.brand_id, row.lang, change.code)
        return row

    return await transactions.write(write)


async def delete_canned(session: AsyncSession, principal: Principal, canned_id: str) -> None:
    row = await get_canned(session, principal, canned_id, lock=True)
    _ensure_may_write(principal, row.department, list(row.intents))
    await repository.delete_canned(session, row.id)


# --------------------------------------------------------------------------- suggestions


def _customer_name(display_name: str | None, handle: str | None) -> str | None:
    if display_name and display_name.strip():
        return display_name.strip()
    if handle and handle.strip():
        return "@" + handle.strip().lstrip("@")
    return None


def _score(row: CannedReply, intent: str | None, department: str | None, missing: int) -> float:
    score = 0.0
    if intent is not None and intent in (row.intents or []):
        score += 2.0
    if department is not None and row.department == department:
        score += 1.0
    if missing:
        score -= 0.5
    return score


async def suggestions(
    session: AsyncSession,
    principal: Principal,
    case_id: str,
    *,
    limit: int,
    seed_defaults: bool = True,
) -> SuggestionList:
    case = await visible_case(session, principal, case_id)
    if seed_defaults:
        await ensure_default_canned(session, case.brand_id)
    primary = Language.en if case.lang == "en" else Language.es
    other = Language.es if primary is Language.en else Language.en
    lang, fallback = primary, False
    rows = await repository.suggestible(
        session, principal, case.brand_id, primary.value, case.intent, case.department
    )
    if not rows:
        rows = await repository.suggestible(
            session, principal, case.brand_id, other.value, case.intent, case.department
        )
        lang, fallback = other, bool(rows)
        if not rows:
            lang = primary
    inbound = await repository.inbound_messages(session, case.id)
    latest = inbound[-1] if inbound else None
    values: dict[str, str | None] = {
        "customer_name": _customer_name(
            latest.author_display_name if latest else None,
            (latest.author_handle if latest else None) or case.author_handle,
        ),
        "order_id": templates.find_order_id([message.text for message in inbound]),
        "agent_name": (
            await repository.member_name(session, case.brand_id, case.assignee_id)
            if case.assignee_id
            else None
        ),
    }
    items = []
    for row in rows:
        filled = templates.fill(row.text, values)
        items.append(
            Suggestion(
                canned_reply_id=row.id,
                code=row.code,
                title=row.title,
                lang=Language(row.lang),
                text=filled.text,
                template=row.text,
                variables={name: values.get(name) for name in row.variables or []},
                missing_variables=filled.missing,
                fallback=fallback,
                score=_score(row, case.intent, case.department, len(filled.missing)),
                warnings=[Violation.model_validate(item) for item in row.warnings or []],
            )
        )
    items.sort(key=lambda item: (-item.score, item.code))
    return SuggestionList(case_id=case.id, lang=lang, fallback=fallback, items=items[:limit])
