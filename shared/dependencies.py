"""The dependencies every service shares, as Annotated aliases and dependency factories.

Each service's `dependencies.py` imports `SessionDep` from here and builds its settings
dependency with `settings_dependency(ItsSettings)` and its state accessor with
`state_dependency(ItsState)` (the small dataclass of resources its lifespan builds), so none of
them writes its own. Routes that name one object in their path take it through a
`valid_<thing>_id` dependency built with `valid_id_dependency`, so none repeats its 404 lookup.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import ServiceUnavailableError
from shared.runtime import runtime_of
from shared.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
StateT = TypeVar("StateT")
FoundT = TypeVar("FoundT")


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit on success, roll back on error, then wake the
    outbox relay so committed events leave at once."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            try:
                await session.commit()
            except Exception as exc:
                raise ServiceUnavailableError(
                    "the database could not commit", retry_after=5
                ) from exc
            runtime.notify_outbox()


# The request owns the transaction (see `request_session`); "function" scope ends it before the
# response is sent, so a failed commit is an error response and not a lost write.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


def settings_dependency(kind: type[SettingsT]) -> Callable[[Request], SettingsT]:
    """A dependency (also callable directly with a request) returning the app's settings, typed
    as the service's own settings class."""

    def settings(request: Request) -> SettingsT:
        return cast(SettingsT, request.app.state.settings)

    return settings


def state_dependency(kind: type[StateT]) -> Callable[[Request], StateT]:
    """A dependency (also callable directly with a request) returning the service's own state,
    the dataclass its `on_startup` put on the runtime."""

    def state(request: Request) -> StateT:
        return runtime_of(request).state_as(kind)

    return state


def valid_id_dependency(
    parameter: str,
    lookup: Callable[[AsyncSession, str, Principal], Awaitable[FoundT]],
    principal: Any,
) -> Callable[..., Awaitable[FoundT]]:
    """A `valid_<thing>_id` dependency: the object the path parameter `parameter` names.

    `lookup(session, id, principal)` is the service's getter, which raises the service's 404
    (an `AppError`, rendered as problem+json) when the object is missing or not the key's to
    see. `principal` is the route's principal alias (`Annotated[Principal, Depends(...)]`):
    its scope check runs first. The request's session is the route's own (FastAPI solves a
    dependency once per request), so the object can be changed and is committed with it::

        valid_case_id = valid_id_dependency("case_id", service.get_case, CasesReaderDep)
        CaseDep = Annotated[Case, Depends(valid_case_id)]

        @router.get("/{case_id}")
        async def get_case(case: CaseDep) -> CaseRead: ...
    """
    session_name, principal_name = "_lookup_session", "_lookup_principal"

    async def dependency(**arguments: Any) -> FoundT:
        return await lookup(
            arguments[session_name], arguments[parameter], arguments[principal_name]
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    # FastAPI reads a dependency's parameters from its signature: the path parameter under the
    # route's own name (so OpenAPI documents it as before), the session and the principal.
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(parameter, keyword, annotation=Annotated[str, Path()]),
            inspect.Parameter(session_name, keyword, annotation=SessionDep),
            inspect.Parameter(principal_name, keyword, annotation=principal),
        ]
    )
    dependency.__name__ = f"valid_{parameter}"
    return dependency
