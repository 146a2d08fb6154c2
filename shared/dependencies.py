"""The dependencies every service shares, as Annotated aliases and dependency factories.

Each service's `dependencies.py` imports `SessionDep` from here and builds its settings
dependency with `settings_dependency(ItsSettings)` and its state accessor with
`state_dependency(ItsState)` (the small dataclass of resources its lifespan builds), so none of
them writes its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ServiceUnavailableError
from shared.runtime import runtime_of
from shared.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
StateT = TypeVar("StateT")


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
