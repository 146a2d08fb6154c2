"""Canned reply dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.routing.guidelines_client import GuidelinesClient
from services.routing.state import RoutingState
from shared.auth import Principal, Scope, require_any_scope, require_scopes
from shared.dependencies import state_dependency

# Reading them: whoever reads cases (agent desks) or manages the team; writing them: leads,
# who hold team:write (canned replies are the team's configuration, like its rules).
CannedReaderDep = Annotated[
    Principal, Depends(require_any_scope(Scope.cases_read, Scope.team_write))
]
CannedWriterDep = Annotated[Principal, Depends(require_scopes(Scope.team_write))]

_state = state_dependency(RoutingState)


def guidelines_client(request: Request) -> GuidelinesClient:
    client = _state(request).guidelines
    if client is None:
        raise RuntimeError("the routing lifespan builds the guidelines client")
    return client


GuidelinesDep = Annotated[GuidelinesClient, Depends(guidelines_client)]
