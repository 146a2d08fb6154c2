"""`Idempotency-Key` for POSTs, written once for every service.

A client that retries a POST (a timeout, a dropped connection) sends the same `Idempotency-Key`
header and gets the first answer back, with `Idempotent-Replay: true`, instead of a second
object. The key belongs to the API key that sent it (`owner`); the same key with a different
request (another body, or another route) is a 409. Answers are kept for the service's
retention period (`purge`).

Each service keeps the answers in a table of its own database (`IdempotentResponseColumns` is
the declarative mixin of its model, so every service's table has the same columns):

    class IdempotentResponse(IdempotentResponseColumns, Base):
        __tablename__ = "idempotent_responses"

Routes whose request owns the transaction (`shared.dependencies.SessionDep`) use `respond`:
the key is claimed in that transaction before the work runs (call it before anything else
writes) and its answer is written in it, so the object and its stored answer commit together
or not at all. A concurrent request with the
same key waits on the claim (PostgreSQL's unique index) and then replays the answer that
committed. Code that manages its own sessions (ingest's intake, which writes through a
group-commit writer) uses `lookup` and `remember` directly.

No library fits: the IETF draft (draft-ietf-httpapi-idempotency-key-header) defines the header,
not the storage, and the packages that implement it are middleware keeping answers in a
process-local or Redis cache, outside the transaction that creates the object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, String, delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UtcDateTime
from shared.errors import ConflictError

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replay"
MAX_KEY_LENGTH = 200

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description=(
            "Any unique string (a UUID) chosen by the client. A retry with the same key and the "
            "same request gets the first answer again (header `Idempotent-Replay: true`); the "
            "same key with another request is a 409."
        ),
    ),
]
"""The header as a route parameter: `idempotency_key: IdempotencyKey = None`."""

CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"description": "Idempotency-Key reused with another request"}
}
"""For a route's `responses=`, beside its own."""

_PENDING = -1  # status of a claim whose work has not finished (never visible after commit)


class IdempotencyConflictError(ConflictError):
    title = "Idempotency-Key reused with a different request"


class IdempotentResponseColumns:
    """The columns of a service's `idempotent_responses` table (a declarative mixin)."""

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any


def fingerprint(body: bytes | str | BaseModel | None, *, route: str = "") -> str:
    """The request's identity: the route (`"POST /v1/rules"`) and its body. A parsed body is
    fingerprinted by its JSON, so formatting differences of the same request don't conflict."""
    if isinstance(body, BaseModel):
        raw = body.model_dump_json().encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body or b""
    digest = hashlib.sha256()
    if route:
        digest.update(route.encode() + b"\0")
    digest.update(raw)
    return digest.hexdigest()


async def lookup(
    session: AsyncSession,
    model: type[IdempotentResponseColumns],
    *,
    owner: str,
    key: str,
    request_hash: str,
) -> StoredAnswer | None:
    """The answer stored for (owner, key), None when there is none; 409 when the key was used
    with another request."""
    stored = await session.get(model, (owner, key), populate_existing=True)
    if stored is None or stored.status_code == _PENDING:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyConflictError(
            "this Idempotency-Key was used with a different request", field=HEADER
        )
    return StoredAnswer(status_code=stored.status_code, body=stored.body)


def remember(
    session: AsyncSession,
    model: type[IdempotentResponseColumns],
    *,
    owner: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
) -> None:
    """Add the answer to the session (stored when it commits)."""
    session.add(
        model(  # type: ignore[call-arg] # the service's mapped subclass takes the columns
            owner=owner,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            body=body,
        )
    )


async def purge(
    session: AsyncSession, model: type[IdempotentResponseColumns], *, before: datetime
) -> None:
    """Forget answers stored before `before` (the service's retention job)."""
    await session.execute(delete(model).where(model.created_at < before))


def replay_response(answer: StoredAnswer) -> JSONResponse:
    return JSONResponse(
        answer.body, status_code=answer.status_code, headers={REPLAY_HEADER: "true"}
    )


async def respond(
    session: AsyncSession,
    model: type[IdempotentResponseColumns],
    *,
    owner: str,
    key: str | None,
    request_hash: str,
    status_code: int,
    produce: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    """Run `produce` once per (owner, key) and answer its result as JSON with `status_code`;
    a retry replays the first answer. Without a key it simply runs.

    `session` is the request's (its transaction commits the work and the answer together). An
    error raised by `produce` rolls both back, so a corrected retry with the same key runs."""
    if key is None:
        return _json(await produce(), status_code)
    stored = await lookup(session, model, owner=owner, key=key, request_hash=request_hash)
    if stored is not None:
        return replay_response(stored)
    claim = model(  # type: ignore[call-arg]
        owner=owner, key=key, request_hash=request_hash, status_code=_PENDING, body=None
    )
    session.add(claim)
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent request with this key committed first (its claim held ours back). Nothing
        # else has been written in this transaction yet, so rolling it back loses nothing.
        await session.rollback()
        stored = await lookup(session, model, owner=owner, key=key, request_hash=request_hash)
        if stored is None:  # it was rolled back meanwhile: let the client retry
            raise IdempotencyConflictError(
                "a request with this Idempotency-Key is still being processed; retry",
                field=HEADER,
            ) from None
        return replay_response(stored)
    result = await produce()
    body = result.model_dump(mode="json", by_alias=True)
    claim.status_code, claim.body = status_code, body
    return JSONResponse(body, status_code=status_code)


def _json(result: BaseModel, status_code: int) -> JSONResponse:
    return JSONResponse(result.model_dump(mode="json", by_alias=True), status_code=status_code)
