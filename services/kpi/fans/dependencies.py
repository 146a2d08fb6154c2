"""Dependencies of the fans' routes, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.kpi.config import KpiSettings
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency

KpiReaderDep = Annotated[Principal, Depends(require_scopes(Scope.kpis_read))]
# Linking profiles is what the people handling the cases know: the key that works cases.
FanLinkerDep = Annotated[Principal, Depends(require_scopes(Scope.kpis_read, Scope.cases_write))]
SettingsDep = Annotated[KpiSettings, Depends(settings_dependency(KpiSettings))]
