"""The REST intake, for channels without webhooks: one interaction or a batch, each item
validated on its own, enriched off the event loop, written by the group-commit writer, and the
answer kept for an `Idempotency-Key`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest.models import IdempotentResponse
from services.ingest.pipeline import (
    GroupCommitWriter,
    ItemStatus,
    Job,
    change_from_rest,
    enrich_changes,
)
from services.ingest.schemas import IntakeResult, InteractionIn, ItemOutcome
from shared import idempotency
from shared.auth import Principal
from shared.errors import BadRequestError, PayloadTooLargeError


@dataclass(frozen=True)
class IntakeAnswer:
    """What the intake answers: the result, or the first answer replayed for its key."""

    content: dict[str, Any]
    status_code: int = 200
    replayed: bool = False


async def receive(
    body: bytes,
    *,
    principal: Principal,
    idempotency_key: str | None,
    sessions: async_sessionmaker[AsyncSession],
    writer: GroupCommitWriter,
    max_items: int,
) -> IntakeAnswer:
    """Take one interaction or `{"items": [...]}` and answer for each item.

    Each step has a session of its own, held only for it: the replay lookup, the writer's
    shared transaction, and the stored answer (no connection waits on enrichment)."""
    fingerprint = idempotency.fingerprint(body)
    if idempotency_key:
        async with sessions() as session:
            stored = await idempotency.lookup(
                session,
                IdempotentResponse,
                owner=principal.key_id,
                key=idempotency_key,
                request_hash=fingerprint,
            )
        if stored is not None:
            return IntakeAnswer(stored.body, status_code=stored.status_code, replayed=True)
    items = intake_items(body, max_items=max_items)
    valid, rejected = validate_intake(items, principal)
    outcomes: list[tuple[ItemStatus, str | None]] = []
    if valid:
        changes = [change_from_rest(item) for _index, item in valid]
        # Language and sentiment of up to 1,000 texts is CPU work: off the event loop, so
        # webhooks served by this process are not held up behind it.
        await asyncio.to_thread(enrich_changes, changes)
        outcomes = (await writer.submit(Job(changes=changes))).outcomes
    content = intake_result(valid, rejected, outcomes).model_dump(mode="json")
    if idempotency_key:
        # After the items committed: a failure here only means a retry is answered from the
        # dedupe keys (as duplicates) instead of replayed.
        try:
            async with sessions() as session, session.begin():
                idempotency.remember(
                    session,
                    IdempotentResponse,
                    owner=principal.key_id,
                    key=idempotency_key,
                    request_hash=fingerprint,
                    status_code=200,
                    body=content,
                )
        except IntegrityError:
            pass  # a concurrent retry with the same key stored its answer first
    return IntakeAnswer(content)


def intake_items(body: bytes, *, max_items: int) -> list[Any]:
    """The raw items of the body: the object itself, or its `items`; 400 or 413 otherwise."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadRequestError(f"the body is not valid JSON: {exc}", field="body") from exc
    except RecursionError as exc:
        raise BadRequestError("the body nests too deeply", field="body") from exc
    if isinstance(payload, dict) and "items" in payload:
        items = payload["items"]
        if not isinstance(items, list):
            raise BadRequestError("items must be a list", field="items")
    elif isinstance(payload, dict):
        items = [payload]
    else:
        raise BadRequestError('send an Interaction object or {"items": [...]}', field="body")
    if len(items) > max_items:
        raise PayloadTooLargeError(
            f"a batch holds at most {max_items} items; got {len(items)}", field="items"
        )
    return items


ValidItems = list[tuple[int, InteractionIn]]


def validate_intake(
    raw_items: Sequence[Any], principal: Principal
) -> tuple[ValidItems, list[ItemOutcome]]:
    """Validate each item on its own: the valid ones go on, the others are reported. An item
    for a brand outside the key's brand limit is rejected like an invalid one."""
    valid: ValidItems = []
    rejected: list[ItemOutcome] = []
    for index, raw in enumerate(raw_items):
        try:
            item = InteractionIn.model_validate(raw)
            if not principal.allows_brand(item.brand_id):
                reason = f"this API key may not ingest for brand {item.brand_id}"
                errors = [{"field": "brand_id", "reason": reason}]
                rejected.append(ItemOutcome(index=index, status="rejected", errors=errors))
                continue
            valid.append((index, item))
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(part) for part in error["loc"]) or "item",
                    "reason": error["msg"],
                }
                for error in exc.errors()
            ]
            rejected.append(ItemOutcome(index=index, status="rejected", errors=errors))
    return valid, rejected


def intake_result(
    valid: ValidItems,
    rejected: list[ItemOutcome],
    outcomes: list[tuple[ItemStatus, str | None]],
) -> IntakeResult:
    items = rejected + [
        ItemOutcome(index=index, status=status, id=interaction_id)
        for (index, _item), (status, interaction_id) in zip(valid, outcomes, strict=True)
    ]
    items.sort(key=lambda outcome: outcome.index)
    return IntakeResult(
        accepted=sum(1 for outcome in items if outcome.status == "accepted"),
        duplicates=sum(1 for outcome in items if outcome.status == "duplicate"),
        rejected=len(rejected),
        items=items,
    )
