"""Reply dependencies as Annotated aliases (the guidelines client is routing's
`dependencies.GuidelinesDep`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, Scope, require_scopes

ReplyReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]
ReplyWriterDep = Annotated[Principal, Depends(require_scopes(Scope.replies_write))]
ReplyApproverDep = Annotated[Principal, Depends(require_scopes(Scope.replies_approve))]
SettingsWriterDep = Annotated[Principal, Depends(require_scopes(Scope.team_write))]
