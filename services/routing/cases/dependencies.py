"""Case dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.routing.cases.scheduler import CaseScheduler
from services.routing.state import RoutingState
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import state_dependency

CaseReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]
CaseWriterDep = Annotated[Principal, Depends(require_scopes(Scope.cases_write))]

_state = state_dependency(RoutingState)


def case_scheduler(request: Request) -> CaseScheduler | None:
    return _state(request).scheduler


SchedulerDep = Annotated[CaseScheduler | None, Depends(case_scheduler)]
