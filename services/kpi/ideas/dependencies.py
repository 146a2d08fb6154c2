"""Dependencies of the ideas' routes, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep

KpiReaderDep = Annotated[Principal, Depends(require_scopes(Scope.kpis_read))]
