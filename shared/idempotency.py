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

Routes whose work waits on a slow outside call between reading and writing (routing's reply
POST waits on the guideline check) use `respond_in_steps` instead, so no pooled connection is
held during that call: the work gets `Steps`, reads in one short transaction (`read`, which
commits the claim with it), makes its call with no transaction open, and writes in a second
short transaction (`write`) that also stores the answer. The claim is then visible while the
call runs: a concurrent request with the same key gets a 409 (in progress, retry), as the
IETF draft says; a claim whose work failed is deleted, so a corrected retry runs; a claim left
by a process that died is taken over once older than `lease`, and the first holder's write
then finds its claim gone and is rolled back, so the work commits once whatever happens.

No library fits: the IETF draft (draft-ietf-httpapi-idempotency-key-header) defines the header,
not the storage, and the packages that implement it are middleware keeping answers in a
process-local or Redis cache, outside the transaction that creates the object.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, CursorResult, String, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import utc_now
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

_PENDING = -1  # status of a claim whose work has not finished (visible only to `respond_in_steps`)

ResultT = TypeVar("ResultT")


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
            raise _in_progress() from None
        return replay_response(stored)
    result = await produce()
    body = result.model_dump(mode="json", by_alias=True)
    claim.status_code, claim.body = status_code, body
    return JSONResponse(body, status_code=status_code)


def _json(result: BaseModel, status_code: int) -> JSONResponse:
    return JSONResponse(result.model_dump(mode="json", by_alias=True), status_code=status_code)


def _in_progress() -> IdempotencyConflictError:
    return IdempotencyConflictError(
        "a request with this Idempotency-Key is still being processed; retry", field=HEADER
    )


@dataclass
class _Claim:
    model: type[IdempotentResponseColumns]
    owner: str
    key: str
    token: datetime  # the claim's `created_at`: whoever holds the row with it holds the claim

    def _mine(self) -> tuple[Any, ...]:
        model: Any = self.model
        return (
            model.owner == self.owner,
            model.key == self.key,
            model.status_code == _PENDING,
            model.created_at == self.token,
        )

    async def complete(self, session: AsyncSession, status_code: int, body: Any) -> None:
        model: Any = self.model
        result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            update(model).where(*self._mine()).values(status_code=status_code, body=body)
        )
        if result.rowcount != 1:
            # Taken over after our lease ran out: the other request's work is the one kept.
            raise _in_progress()

    async def release(self, session: AsyncSession) -> None:
        await session.execute(delete(self.model).where(*self._mine()))


class Steps:
    """The two short transactions of `respond_in_steps`' work, on the request's session."""

    def __init__(self, session: AsyncSession, claim: _Claim | None) -> None:
        self.session = session
        self.claim = claim
        self.read_done = False

    async def read(self, work: Callable[[AsyncSession], Awaitable[ResultT]]) -> ResultT:
        """Run `work` (reads), then end its transaction: the connection goes back to the pool
        (objects read stay usable: the sessions keep them loaded after a commit)."""
        result = await work(self.session)
        await self.session.commit()
        self.read_done = True
        return result

    async def write(self, work: Callable[[AsyncSession], Awaitable[ResultT]]) -> ResultT:
        """Run `work` in a new transaction, which the request commits with the stored answer."""
        return await work(self.session)


async def respond_in_steps(
    session: AsyncSession,
    model: type[IdempotentResponseColumns],
    *,
    owner: str,
    key: str | None,
    request_hash: str,
    status_code: int,
    lease: timedelta,
    produce: Callable[[Steps], Awaitable[BaseModel]],
) -> JSONResponse:
    """Like `respond`, for work that reads, waits on a slow call with no connection held, then
    writes (see the module docstring). `session` is the request's: its transaction after
    `Steps.write` commits the work and the answer together."""
    claim = await _claim(session, model, owner, key, request_hash, lease) if key else None
    if isinstance(claim, StoredAnswer):
        return replay_response(claim)
    steps = Steps(session, claim)
    try:
        result = await produce(steps)
        body = result.model_dump(mode="json", by_alias=True)
        if claim is not None:
            await claim.complete(session, status_code, body)
    except BaseException:
        if claim is not None and steps.read_done:
            # The claim committed with the reads: take it back so a corrected retry runs (if
            # that fails too, the claim is taken over once its lease has run out).
            with contextlib.suppress(Exception):
                await session.rollback()
                await claim.release(session)
                await session.commit()
        raise
    return JSONResponse(body, status_code=status_code)


async def _claim(
    session: AsyncSession,
    model: type[IdempotentResponseColumns],
    owner: str,
    key: str,
    request_hash: str,
    lease: timedelta,
) -> _Claim | StoredAnswer:
    stored = await lookup(session, model, owner=owner, key=key, request_hash=request_hash)
    if stored is not None:
        return stored
    token = utc_now()
    session.add(
        model(  # type: ignore[call-arg]
            owner=owner,
            key=key,
            request_hash=request_hash,
            status_code=_PENDING,
            body=None,
            created_at=token,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()  # nothing else is written in this transaction yet
    else:
        return _Claim(model, owner, key, token)
    existing: Any = await session.get(model, (owner, key), populate_existing=True)
    if existing is None:  # released meanwhile (its work failed): the client retries
        raise _in_progress()
    if existing.request_hash != request_hash:
        raise IdempotencyConflictError(
            "this Idempotency-Key was used with a different request", field=HEADER
        )
    if existing.status_code != _PENDING:
        return StoredAnswer(status_code=existing.status_code, body=existing.body)
    if existing.created_at > token - lease:
        raise _in_progress()
    # A claim older than the lease: its request died. Take it over (one request wins).
    stale = _Claim(model, owner, key, existing.created_at)
    fresh = utc_now()
    taken: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(model).where(*stale._mine()).values(created_at=fresh)
    )
    if taken.rowcount != 1:
        raise _in_progress()
    return _Claim(model, owner, key, fresh)
