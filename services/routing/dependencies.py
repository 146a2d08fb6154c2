"""Routing dependencies as Annotated aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.routing.config import RoutingSettings
from services.routing.guidelines_client import GuidelinesClient
from services.routing.intents import IntentClassifier
from services.routing.models import IdempotentResponse
from services.routing.state import RoutingState
from shared.auth import Principal, Scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency, state_dependency
from shared.idempotency import IdempotencyKey, fingerprint, respond

CaseReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]


def intent_classifier(request: Request) -> IntentClassifier:
    return routing_state(request).intent_classifier


def guidelines_client(request: Request) -> GuidelinesClient:
    """The lifespan's client of the guidelines check API (canned replies, replies)."""
    client = routing_state(request).guidelines
    if client is None:
        raise RuntimeError("the routing lifespan builds the guidelines client")
    return client


routing_settings = settings_dependency(RoutingSettings)
routing_state = state_dependency(RoutingState)


ClassifierDep = Annotated[IntentClassifier, Depends(intent_classifier)]
SettingsDep = Annotated[RoutingSettings, Depends(routing_settings)]
GuidelinesDep = Annotated[GuidelinesClient, Depends(guidelines_client)]


class Idempotency:
    """The request's `Idempotency-Key` and the session its answer is stored in (the request's
    own, so the created object and its answer commit together). `create` runs the work once
    per key and API key; a retry gets the first answer back (`Idempotent-Replay: true`)."""

    def __init__(
        self, request: Request, session: SessionDep, idempotency_key: IdempotencyKey = None
    ) -> None:
        self.session = session
        self.key = idempotency_key
        self.route = f"{request.method} {request.url.path}"

    async def create(
        self,
        principal: Principal,
        data: BaseModel,
        produce: Callable[[], Awaitable[BaseModel]],
        *,
        status_code: int = 201,
    ) -> JSONResponse:
        return await respond(
            self.session,
            IdempotentResponse,
            owner=principal.key_id,
            key=self.key,
            request_hash=fingerprint(data, route=self.route),
            status_code=status_code,
            produce=produce,
        )


IdempotencyDep = Annotated[Idempotency, Depends(Idempotency)]
