"""Dependencies of kpi's KPI and goal APIs, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep

KpiReaderDep = Annotated[Principal, Depends(require_scopes(Scope.kpis_read))]


async def read_session(session: SessionDep) -> AsyncSession:
    """The request's session, in autocommit: a KPI read is one statement (one snapshot), and
    needs no BEGIN and COMMIT round trips around it."""
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


ReadSessionDep = Annotated[AsyncSession, Depends(read_session)]
