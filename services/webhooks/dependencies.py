"""Webhooks dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.webhooks.config import WebhooksSettings
from services.webhooks.state import WebhooksState
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency, state_dependency

webhooks_settings = settings_dependency(WebhooksSettings)
webhooks_state = state_dependency(WebhooksState)

ManagerDep = Annotated[Principal, Depends(require_scopes(Scope.webhooks_manage))]
SettingsDep = Annotated[WebhooksSettings, Depends(webhooks_settings)]
StateDep = Annotated[WebhooksState, Depends(webhooks_state)]
