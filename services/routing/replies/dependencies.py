"""Reply dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.routing.replies.guidelines_client import GuidelinesClient
from services.routing.state import RoutingState
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import state_dependency
from shared.errors import ServiceUnavailableError

ReplyReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]
ReplyWriterDep = Annotated[Principal, Depends(require_scopes(Scope.replies_write))]
ReplyApproverDep = Annotated[Principal, Depends(require_scopes(Scope.replies_approve))]
SettingsWriterDep = Annotated[Principal, Depends(require_scopes(Scope.team_write))]

_state = state_dependency(RoutingState)


def guidelines_client(request: Request) -> GuidelinesClient:
    client = _state(request).guidelines
    if client is None:
        raise ServiceUnavailableError("the guideline check is not configured")
    return client


GuidelinesDep = Annotated[GuidelinesClient, Depends(guidelines_client)]
