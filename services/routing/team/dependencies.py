"""Dependencies of the team and rules API as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, Scope, require_any_scope, require_scopes

# Reading the team's configuration: whoever reads cases (agent desks) or manages the team.
TeamReaderDep = Annotated[Principal, Depends(require_any_scope(Scope.cases_read, Scope.team_write))]
TeamWriterDep = Annotated[Principal, Depends(require_scopes(Scope.team_write))]
# Availability: a lead (team:write) or the member; the service checks which.
AvailabilityDep = Annotated[
    Principal,
    Depends(require_any_scope(Scope.team_write, Scope.cases_write, Scope.cases_read)),
]
