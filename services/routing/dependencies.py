"""Routing dependencies as Annotated aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
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
from shared.idempotency import IdempotencyKey, Steps, fingerprint, respond, respond_in_steps

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
        # A claim's work may wait on the guideline check (its timeout is per read): a claim
        # older than this was left by a request that died, and another may take it over.
        self.lease = timedelta(
            seconds=max(60.0, 4 * routing_settings(request).guidelines_timeout_seconds)
        )

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

    async def create_in_steps(
        self,
        principal: Principal,
        data: BaseModel,
        produce: Callable[[Steps], Awaitable[BaseModel]],
        *,
        status_code: int = 201,
    ) -> JSONResponse:
        """`create` for work that waits on the guideline check between a short read and a
        short write: no transaction (nor pooled connection) is held during the check."""
        return await respond_in_steps(
            self.session,
            IdempotentResponse,
            owner=principal.key_id,
            key=self.key,
            request_hash=fingerprint(data, route=self.route),
            status_code=status_code,
            lease=self.lease,
            produce=produce,
        )


IdempotencyDep = Annotated[Idempotency, Depends(Idempotency)]


def request_steps(session: SessionDep) -> Steps:
    """The request's session as two short transactions around a slow outside call (a route
    with no `Idempotency-Key`: the reply edit)."""
    return Steps(session, None)


TransactionsDep = Annotated[Steps, Depends(request_steps)]
