"""Routing dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.routing.config import RoutingSettings
from services.routing.intents import IntentClassifier
from services.routing.state import RoutingState
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency, state_dependency

CaseReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]


def intent_classifier(request: Request) -> IntentClassifier:
    return routing_state(request).intent_classifier


routing_settings = settings_dependency(RoutingSettings)
routing_state = state_dependency(RoutingState)


ClassifierDep = Annotated[IntentClassifier, Depends(intent_classifier)]
SettingsDep = Annotated[RoutingSettings, Depends(routing_settings)]
