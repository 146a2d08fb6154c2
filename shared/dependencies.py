"""The dependencies every service shares, as Annotated aliases and dependency factories.

Each service's `dependencies.py` imports `SessionDep` from here and builds its settings
dependency with `settings_dependency(ItsSettings)`, so none of them writes its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import request_session
from shared.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

# The request owns the transaction (see `request_session`); "function" scope ends it before the
# response is sent, so a failed commit is an error response and not a lost write.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


def settings_dependency(kind: type[SettingsT]) -> Callable[[Request], SettingsT]:
    """A dependency (also callable directly with a request) returning the app's settings, typed
    as the service's own settings class."""

    def settings(request: Request) -> SettingsT:
        return cast(SettingsT, request.app.state.settings)

    return settings
