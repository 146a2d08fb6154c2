"""Routing dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.config import RoutingSettings
from services.routing.intents import IntentClassifier
from shared.app import request_session, runtime_of
from shared.auth import Principal, Scope, require_scopes

SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
CaseReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]


def intent_classifier(request: Request) -> IntentClassifier:
    classifier: IntentClassifier = runtime_of(request).extras["intent_classifier"]
    return classifier


def routing_settings(request: Request) -> RoutingSettings:
    settings: RoutingSettings = request.app.state.settings
    return settings


ClassifierDep = Annotated[IntentClassifier, Depends(intent_classifier)]
SettingsDep = Annotated[RoutingSettings, Depends(routing_settings)]
