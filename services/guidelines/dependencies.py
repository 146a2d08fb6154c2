"""Guidelines dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.guidelines.config import GuidelinesSettings
from services.guidelines.service import GuidelineCache
from services.guidelines.state import GuidelinesState
from shared.auth import Principal, Scope, require_any_scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency, state_dependency

ReaderDep = Annotated[Principal, Depends(require_scopes(Scope.guidelines_read))]
WriterDep = Annotated[Principal, Depends(require_scopes(Scope.guidelines_write))]
# Drafting a reply needs its check; so do keys that only read guidelines.
CheckerDep = Annotated[
    Principal, Depends(require_any_scope(Scope.guidelines_read, Scope.replies_write))
]


def guideline_cache(request: Request) -> GuidelineCache:
    return guidelines_state(request).cache


guidelines_settings = settings_dependency(GuidelinesSettings)
guidelines_state = state_dependency(GuidelinesState)


CacheDep = Annotated[GuidelineCache, Depends(guideline_cache)]
SettingsDep = Annotated[GuidelinesSettings, Depends(guidelines_settings)]
