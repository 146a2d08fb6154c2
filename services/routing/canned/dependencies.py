"""Canned reply dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.routing.dependencies import GuidelinesDep as GuidelinesDep
from shared.auth import Principal, Scope, require_any_scope, require_scopes

# Reading them: whoever reads cases (agent desks) or manages the team; writing them: leads,
# who hold team:write (canned replies are the team's configuration, like its rules).
CannedReaderDep = Annotated[
    Principal, Depends(require_any_scope(Scope.cases_read, Scope.team_write))
]
CannedWriterDep = Annotated[Principal, Depends(require_scopes(Scope.team_write))]
