"""Webhooks HTTP API: endpoints, their secrets, the delivery log, retries, replays, event types."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse

from services.webhooks import service
from services.webhooks.dependencies import ManagerDep, SessionDep, SettingsDep, StateDep
from services.webhooks.models import Attempt, Delivery, Endpoint, IdempotentResponse
from services.webhooks.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointRead,
    EndpointUpdate,
    EventTypeList,
    EventTypeRead,
    PingResult,
    ReplayAccepted,
    ReplayRequest,
    SecretRotated,
    SecretRotation,
)
from services.webhooks.signing import SecretBox
from shared import idempotency
from shared.errors import BadRequestError
from shared.events.registry import EVENT_TYPES
from shared.idempotency import CONFLICT_RESPONSE, IdempotencyKey
from shared.pagination import fetch_size

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks webhooks:manage, or names a brand outside its limit"},
    422: {
        "description": (
            "Invalid URL (or one resolving to a loopback, private, link-local or metadata "
            "address), or an event filter naming an unknown type (the valid ones are listed in "
            "`valid_event_types`)"
        )
    },
}
router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"], responses=PROBLEMS)
types_router = APIRouter(
    prefix="/v1/webhook-event-types",
    tags=["webhooks"],
    responses={status: PROBLEMS[status] for status in (401, 403)},
)

EndpointId = Annotated[str, Path(max_length=36)]
DeliveryId = Annotated[str, Path(max_length=36)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]


def _endpoint(row: Endpoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "event_types": row.event_types,
        "brand_ids": row.brand_ids,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "rate_limit_per_second": row.rate_limit_per_second,
        "failing_since": row.failing_since,
        "previous_secret_expires_at": row.previous_secret_expires_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _delivery(row: Delivery) -> DeliveryRead:
    return DeliveryRead.model_validate(row, from_attributes=True)


def _attempt(row: Attempt) -> AttemptRead:
    return AttemptRead.model_validate(row, from_attributes=True)


def _delivery_cursor(row: Delivery) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def _parse_delivery_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        created, delivery_id = base64.urlsafe_b64decode(cursor).decode().split("|", 1)
        moment = datetime.fromisoformat(created)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("the cursor is not one this list gave", field="cursor") from exc
    if moment.tzinfo is None:
        raise BadRequestError("the cursor is not one this list gave", field="cursor")
    return moment, delivery_id


def _with_secret_opened(answer: JSONResponse, box: SecretBox) -> JSONResponse:
    """The creation's answer with its secret in clear: it is kept sealed in the stored answer
    that a retry with the same Idempotency-Key replays."""
    body = json.loads(bytes(answer.body))
    body["secret"] = box.open_text(body["secret"])
    replayed = answer.headers.get(idempotency.REPLAY_HEADER)
    headers = {idempotency.REPLAY_HEADER: replayed} if replayed else None
    return JSONResponse(body, status_code=answer.status_code, headers=headers)


@router.post("", status_code=201, response_model=EndpointCreated, responses=CONFLICT_RESPONSE)
async def create_webhook_endpoint(
    body: EndpointCreate,
    session: SessionDep,
    principal: ManagerDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register an endpoint. The answer holds its signing secret, shown this once (and to a
    retry with the same `Idempotency-Key`, which gets the same endpoint, not a second one)."""

    async def create() -> EndpointCreated:
        endpoint, secret = await service.create_endpoint(
            session, principal, body, resolver=state.resolver, box=state.box
        )
        return EndpointCreated(**_endpoint(endpoint), secret=state.box.seal_text(secret))

    answer = await idempotency.respond(
        session,
        IdempotentResponse,
        owner=principal.key_id,
        key=idempotency_key,
        request_hash=idempotency.fingerprint(body, route="POST /v1/webhook-endpoints"),
        status_code=201,
        produce=create,
    )
    # Committed first, so the reload that the invalidation starts sees the change.
    await session.commit()
    state.directory.invalidate()
    return _with_secret_opened(answer, state.box)


@router.get("", response_model=EndpointPage)
async def list_webhook_endpoints(
    session: SessionDep, principal: ManagerDep, limit: Limit = 50, cursor: Cursor = None
) -> EndpointPage:
    rows = await service.list_endpoints(session, principal, cursor=cursor, limit=fetch_size(limit))
    return EndpointPage.from_rows(
        rows, limit, item=lambda row: EndpointRead(**_endpoint(row)), cursor=lambda row: row.id
    )


@router.get("/{endpoint_id}", response_model=EndpointRead)
async def get_webhook_endpoint(
    endpoint_id: EndpointId, session: SessionDep, principal: ManagerDep
) -> EndpointRead:
    return EndpointRead(**_endpoint(await service.get_endpoint(session, principal, endpoint_id)))


@router.patch("/{endpoint_id}", response_model=EndpointRead)
async def update_webhook_endpoint(
    endpoint_id: EndpointId,
    body: EndpointUpdate,
    session: SessionDep,
    principal: ManagerDep,
    state: StateDep,
) -> EndpointRead:
    """Change any field; `enabled: true` turns a disabled endpoint on again (its pending
    deliveries resume). The endpoint then gets what this API key may see."""
    endpoint = await service.update_endpoint(
        session, principal, endpoint_id, body, resolver=state.resolver
    )
    # Committed first, so the reload that the invalidation starts sees the change.
    await session.commit()
    state.directory.invalidate()
    return EndpointRead(**_endpoint(endpoint))


@router.delete("/{endpoint_id}", status_code=204)
async def delete_webhook_endpoint(
    endpoint_id: EndpointId, session: SessionDep, principal: ManagerDep, state: StateDep
) -> Response:
    await service.delete_endpoint(session, principal, endpoint_id)
    # Committed first, so the reload that the invalidation starts sees the change.
    await session.commit()
    state.directory.invalidate()
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretRotated)
async def rotate_webhook_secret(
    endpoint_id: EndpointId,
    session: SessionDep,
    principal: ManagerDep,
    state: StateDep,
    settings: SettingsDep,
    body: Annotated[
        SecretRotation | None,
        Body(
            openapi_examples={
                "one_hour": {
                    "summary": "Old secret signs one more hour",
                    "value": {"overlap_seconds": 3600},
                }
            }
        ),
    ] = None,
) -> SecretRotated:
    """A new secret, shown once. The previous one keeps signing during the overlap: each
    delivery then carries both signatures, so receivers switch at their pace."""
    overlap = body.overlap_seconds if body and body.overlap_seconds is not None else None
    endpoint, secret = await service.rotate_secret(
        session,
        principal,
        endpoint_id,
        overlap_seconds=overlap
        if overlap is not None
        else settings.secret_rotation_overlap_seconds,
        box=state.box,
    )
    # Committed first, so the reload that the invalidation starts sees the change.
    await session.commit()
    state.directory.invalidate()
    return SecretRotated(
        secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.post("/{endpoint_id}/ping", response_model=PingResult)
async def ping_webhook_endpoint(
    endpoint_id: EndpointId, session: SessionDep, principal: ManagerDep, state: StateDep
) -> PingResult:
    """Send a signed `webhook.ping` now and report how the receiver answered."""
    result = await service.ping(session, principal, endpoint_id, sender=state.sender, box=state.box)
    return PingResult(
        succeeded=result.succeeded,
        status_code=result.status_code,
        latency_ms=round(result.latency_ms, 3),
        error=result.error,
        response_excerpt=result.excerpt,
    )


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage)
async def list_webhook_deliveries(
    endpoint_id: EndpointId,
    session: SessionDep,
    principal: ManagerDep,
    status: Literal["pending", "succeeded", "failed"] | None = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The endpoint's deliveries, newest first."""
    rows = await service.list_deliveries(
        session,
        principal,
        endpoint_id,
        status=status,
        event_type=event_type,
        before=_parse_delivery_cursor(cursor),
        limit=fetch_size(limit),
    )
    return DeliveryPage.from_rows(rows, limit, item=_delivery, cursor=_delivery_cursor)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_webhook_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, session: SessionDep, principal: ManagerDep
) -> DeliveryDetail:
    """A delivery and its attempts (newest first): status, latency, the first KiB answered."""
    delivery, attempts = await service.get_delivery(session, principal, endpoint_id, delivery_id)
    return DeliveryDetail(
        **_delivery(delivery).model_dump(), attempts=[_attempt(row) for row in attempts]
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryRead,
    responses=CONFLICT_RESPONSE,
)
async def retry_webhook_delivery(
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    session: SessionDep,
    principal: ManagerDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Send again now (same `webhook-id`), with a fresh retry schedule; a repeat with the same
    `Idempotency-Key` schedules nothing more."""

    async def retry() -> DeliveryRead:
        return _delivery(await service.retry_delivery(session, principal, endpoint_id, delivery_id))

    route = f"POST /v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"
    return await idempotency.respond(
        session,
        IdempotentResponse,
        owner=principal.key_id,
        key=idempotency_key,
        request_hash=idempotency.fingerprint(None, route=route),
        status_code=202,
        produce=retry,
    )


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    response_model=ReplayAccepted,
    responses=CONFLICT_RESPONSE,
)
async def replay_webhook_events(
    endpoint_id: EndpointId,
    body: ReplayRequest,
    session: SessionDep,
    principal: ManagerDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Deliver again the events of a time range `[since, until)` that this endpoint wants; a
    repeat with the same `Idempotency-Key` schedules nothing more."""

    async def replay() -> ReplayAccepted:
        count = await service.replay(
            session, principal, endpoint_id, body, max_events=settings.max_replay_events
        )
        return ReplayAccepted(scheduled=count)

    return await idempotency.respond(
        session,
        IdempotentResponse,
        owner=principal.key_id,
        key=idempotency_key,
        request_hash=idempotency.fingerprint(
            body, route=f"POST /v1/webhook-endpoints/{endpoint_id}/replay"
        ),
        status_code=202,
        produce=replay,
    )


@types_router.get("", response_model=EventTypeList)
async def list_webhook_event_types(principal: ManagerDep) -> EventTypeList:
    """Every event type an endpoint may subscribe to (`prefix.*` and `*` match several)."""
    return EventTypeList(
        items=[
            EventTypeRead(
                type=name,
                topic=EVENT_TYPES[name].topic,
                payload=EVENT_TYPES[name].model.__name__,
            )
            for name in service.event_types()
        ]
    )
