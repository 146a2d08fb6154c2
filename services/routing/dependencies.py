"""Routing dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.routing.config import RoutingSettings
from services.routing.intents import IntentClassifier
from shared.app import runtime_of
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency

CaseReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]


def intent_classifier(request: Request) -> IntentClassifier:
    classifier: IntentClassifier = runtime_of(request).extras["intent_classifier"]
    return classifier


routing_settings = settings_dependency(RoutingSettings)


ClassifierDep = Annotated[IntentClassifier, Depends(intent_classifier)]
SettingsDep = Annotated[RoutingSettings, Depends(routing_settings)]
