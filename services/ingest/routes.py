"""Ingest HTTP API: connections, the REST intake, interactions, and the platform webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import Counter
from pydantic import AwareDatetime

from services.ingest.dependencies import (
    ConnectionCacheDep,
    ConnectionChangerDep,
    ConnectionCreatorDep,
    ConnectionDep,
    ConnectionRemoverDep,
    ConnectionsWriterDep,
    CredentialsDep,
    IngestWriterDep,
    InteractionDep,
    RawBodyDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
    UnroutedReaderDep,
    WriterDep,
    ingest_settings,
    ingest_state,
    limited_json_body,
)
from services.ingest.exceptions import SignatureError
from services.ingest.platforms.signatures import (
    META_SIGNATURE_HEADER,
    X_SIGNATURE_HEADER,
    meta_verification_challenge,
    valid_x_crc_token,
    verify_meta_signature,
    verify_x_signature,
    x_crc_response_token,
)
from services.ingest.schemas import (
    ConnectionCreate,
    ConnectionPage,
    ConnectionRead,
    ConnectionUpdate,
    IntakeResult,
    InteractionIn,
    InteractionPage,
    Platform,
    WebhookAck,
)
from services.ingest.service import connections, intake, interactions, webhooks
from shared.auth import ensure_brand_writable
from shared.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from shared.events.interactions import MAX_PLATFORM_ID, Channel, Interaction
from shared.fastpath import FastRoute
from shared.idempotency import IdempotencyKey
from shared.runtime import runtime_of

logger = structlog.get_logger("socialcare.ingest")

SIGNATURE_FAILURES = Counter(
    "socialcare_ingest_signature_failures_total",
    "Webhooks refused for their signature",
    ["platform"],
)

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {
        "description": (
            "The API key lacks the scope, asks to create something for a brand outside its "
            "brand limit, or has a department limit where brand-wide data or changes are asked"
        )
    },
}
# Objects of a brand outside the key's brand limit are answered like missing ones.
OTHER_BRAND = " (or of a brand outside the API key's brand limit)"

connections_router = APIRouter(prefix="/v1/connections", tags=["connections"], responses=PROBLEMS)


@connections_router.post(
    "", status_code=201, response_model=ConnectionRead, summary="Connect a platform account"
)
async def create_connection(
    data: ConnectionCreate,
    principal: ConnectionCreatorDep,
    session: SessionDep,
    box: CredentialsDep,
    cache: ConnectionCacheDep,
) -> ConnectionRead:
    ensure_brand_writable(principal, data.brand_id)
    connection = await connections.create_connection(session, data, box)
    cache.forget(connection.id)
    logger.info("connection_created", connection_id=connection.id, platform=connection.platform)
    return connections.connection_read(connection, box)


@connections_router.get("", response_model=ConnectionPage, summary="List connections")
async def list_connections(
    principal: ConnectionsWriterDep,
    session: SessionDep,
    box: CredentialsDep,
    brand_id: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = None,
) -> ConnectionPage:
    return await connections.list_connections(
        session, principal, box, brand_id=brand_id, limit=limit, cursor=cursor
    )


@connections_router.get(
    "/{connection_id}",
    response_model=ConnectionRead,
    summary="One connection",
    responses={404: {"description": "No such connection" + OTHER_BRAND}},
)
async def get_connection(connection: ConnectionDep, box: CredentialsDep) -> ConnectionRead:
    return connections.connection_read(connection, box)


@connections_router.patch(
    "/{connection_id}",
    response_model=ConnectionRead,
    summary="Update a connection; new secrets rotate with a grace period for the old ones",
    responses={404: {"description": "No such connection" + OTHER_BRAND}},
)
async def update_connection(
    # The department check comes before the lookup, as dependencies are solved in order.
    _principal: ConnectionChangerDep,
    connection: ConnectionDep,
    data: ConnectionUpdate,
    session: SessionDep,
    box: CredentialsDep,
    cache: ConnectionCacheDep,
    settings: SettingsDep,
) -> ConnectionRead:
    await connections.update_connection(
        session,
        connection,
        data,
        box,
        grace=timedelta(seconds=settings.secret_rotation_grace_seconds),
    )
    cache.forget(connection.id)
    if data.secrets is not None:
        logger.info("connection_secrets_rotated", connection_id=connection.id)
    return connections.connection_read(connection, box)


@connections_router.delete(
    "/{connection_id}",
    status_code=204,
    summary="Disconnect",
    responses={404: {"description": "No such connection" + OTHER_BRAND}},
)
async def delete_connection(
    _principal: ConnectionRemoverDep,
    connection: ConnectionDep,
    session: SessionDep,
    cache: ConnectionCacheDep,
) -> Response:
    await connections.delete_connection(session, connection)
    cache.forget(connection.id)
    return Response(status_code=204)


interactions_router = APIRouter(
    prefix="/v1/interactions", tags=["interactions"], responses=PROBLEMS
)


def _intake_body() -> dict[str, Any]:
    """OpenAPI of the intake body. The route reads it raw (each item is validated on its own, so
    one bad item does not reject the batch), so FastAPI cannot document it from a parameter."""
    one = InteractionIn.model_json_schema(ref_template="#/components/schemas/{model}")
    # Author, Channel, InteractionKind and Metrics are components already (the Interaction).
    one.pop("$defs", None)
    example = one["examples"][0]
    batch = {
        "type": "object",
        "title": "InteractionBatchIn",
        "properties": {"items": {"type": "array", "items": one, "minItems": 1}},
        "required": ["items"],
        "additionalProperties": False,
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [one, batch]},
                    "examples": {
                        "one": {"summary": "One interaction", "value": example},
                        "batch": {
                            "summary": "A batch (up to 1,000 items)",
                            "value": {
                                "items": [
                                    example,
                                    {
                                        **example,
                                        "channel": "youtube",
                                        "kind": "comment",
                                        "external_id": "Ugx-comment-1",
                                        "text": "Great video, where can I buy it?",
                                    },
                                ]
                            },
                        },
                    },
                }
            },
        }
    }


@interactions_router.post(
    "",
    response_model=IntakeResult,
    openapi_extra=_intake_body(),
    summary="Intake for channels without webhooks: one interaction or a batch of up to 1,000",
    description=(
        'Send one Interaction object, or `{"items": [...]}`. Each item is validated on its '
        "own: valid items are accepted even when others are rejected (so are items for a "
        "brand outside the API key's brand limit). `Idempotency-Key` replays the first answer."
    ),
    responses={
        409: {"description": "Idempotency-Key reused with another body"},
        413: {"description": "Body or batch too large"},
        415: {"description": "Not JSON"},
    },
)
async def ingest_interactions(
    principal: IngestWriterDep,
    settings: SettingsDep,
    body: RawBodyDep,
    sessions: SessionsDep,
    writer: WriterDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    answer = await intake.receive(
        body,
        principal=principal,
        idempotency_key=idempotency_key,
        sessions=sessions,
        writer=writer,
        max_items=settings.max_batch_items,
    )
    headers = {"Idempotent-Replay": "true"} if answer.replayed else None
    return JSONResponse(answer.content, status_code=answer.status_code, headers=headers)


@interactions_router.get(
    "/{interaction_id}",
    response_model=Interaction,
    summary="One interaction",
    responses={404: {"description": "No such interaction" + OTHER_BRAND}},
)
async def get_interaction(interaction: InteractionDep) -> Interaction:
    return interaction


@interactions_router.get("", response_model=InteractionPage, summary="Search interactions")
async def search_interactions(
    principal: UnroutedReaderDep,
    session: SessionDep,
    brand_id: str | None = None,
    channel: Channel | None = None,
    external_id: str | None = Query(default=None, max_length=MAX_PLATFORM_ID),
    since: AwareDatetime | None = Query(default=None, description="RFC 3339 with a time zone"),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=500),
) -> InteractionPage:
    return await interactions.search_interactions(
        session,
        principal,
        brand_id=brand_id,
        channel=channel,
        external_id=external_id,
        since=since,
        limit=limit,
        cursor=cursor,
    )


# ------------------------------------------------------------------------------------ webhooks

webhooks_router = APIRouter(prefix="/v1/webhooks", tags=["platform webhooks"])

WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON"},
    401: {"description": "Signature missing or wrong"},
    404: {"description": "Unknown connection"},
    413: {"description": "Body over 1 MiB"},
    415: {"description": "Not application/json"},
    503: {"description": "Cannot durably accept now; the platform should retry"},
}


async def _connection_for(
    request: Request, connection_id: str, platform: Platform
) -> connections.CachedConnection:
    cache = ingest_state(request).connections
    cached = await cache.get(runtime_of(request).sessions, connection_id)
    if cached is None or cached.platform != platform.value:
        raise NotFoundError(f"no {platform.value} connection with id {connection_id}")
    return cached


async def _accept_webhook(
    request: Request, cached: connections.CachedConnection, body: bytes
) -> Response:
    """Hand the verified body to the workers; answer once Kafka has it (acks=all)."""
    envelope = webhooks.webhook_received(cached, body)
    producer = runtime_of(request).require_producer()
    try:
        await producer.publish(
            envelope, within=ingest_settings(request).webhook_ack_timeout_seconds
        )
    except KafkaError as exc:
        # Refused, so the platform retries; should the record still land, the retry is
        # acknowledged as a duplicate downstream (dedupe on connection, id and change).
        raise ServiceUnavailableError(
            "the event bus cannot take the delivery now; retry", retry_after=5
        ) from exc
    # WebhookAck, written out: the id is a UUID, so it needs no JSON escaping.
    return Response(
        b'{"accepted":true,"delivery_id":"' + envelope.id.encode() + b'"}',
        media_type="application/json",
    )


def _require_signature_header(request: Request, header: str, platform: str) -> str:
    """The signature header; refused before a byte of the body is read when it is absent or
    not of the platform's form ("sha256=" + digest), so an unsigned request costs no read."""
    signature = request.headers.get(header)
    if not signature or not signature.startswith("sha256=") or len(signature) > 128:
        SIGNATURE_FAILURES.labels(platform).inc()
        raise SignatureError(f"{header} is missing or does not match the body")
    return signature


async def receive_meta_webhook(request: Request, connection_id: str) -> Response:
    # Cheapest refusals first: unknown connection (cached), no signature; then at most the
    # platform's maximum body is read, and verified before anything else looks at it.
    cached = await _connection_for(request, connection_id, Platform.meta)
    signature = _require_signature_header(request, META_SIGNATURE_HEADER, "meta")
    body = await limited_json_body(request)
    secrets = cached.secrets("app_secret", now=datetime.now(UTC))
    if not verify_meta_signature(body, signature, secrets):
        SIGNATURE_FAILURES.labels("meta").inc()
        raise SignatureError(f"{META_SIGNATURE_HEADER} is missing or does not match the body")
    return await _accept_webhook(request, cached, body)


async def receive_x_webhook(request: Request, connection_id: str) -> Response:
    cached = await _connection_for(request, connection_id, Platform.x)
    signature = _require_signature_header(request, X_SIGNATURE_HEADER, "x")
    body = await limited_json_body(request)
    now = datetime.now(UTC)
    secrets = [
        *cached.secrets("consumer_secret", now=now),
        *cached.secrets("client_secret", now=now),
    ]
    if not verify_x_signature(body, signature, secrets):
        SIGNATURE_FAILURES.labels("x").inc()
        raise SignatureError(f"{X_SIGNATURE_HEADER} is missing or does not match the body")
    return await _accept_webhook(request, cached, body)


# Platform webhooks are served by the fast path (shared.fastpath): platforms call them at
# volume, and FastAPI's routing and dependency solving would cost more than the work. The
# FastAPI routes below document them in OpenAPI and call the same endpoints.
FAST_ROUTES = (
    FastRoute(
        "POST", "/v1/webhooks/meta/", "/v1/webhooks/meta/{connection_id}", receive_meta_webhook
    ),
    FastRoute("POST", "/v1/webhooks/x/", "/v1/webhooks/x/{connection_id}", receive_x_webhook),
)


def _webhook_body(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": example}},
        }
    }


META_WEBHOOK_BODY = _webhook_body(
    {
        "object": "page",
        "entry": [
            {
                "id": "448",
                "time": 1763800000,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "comment",
                            "verb": "add",
                            "post_id": "448_1",
                            "comment_id": "448_1_2",
                            "from": {"id": "9001", "name": "Lucía"},
                            "message": "¿Abrís el domingo?",
                            "created_time": 1763800000,
                        },
                    }
                ],
            }
        ],
    }
)
X_WEBHOOK_BODY = _webhook_body(
    {
        "for_user_id": "2244994945",
        "tweet_create_events": [
            {
                "id_str": "1860000000000000001",
                "text": "@acme my order never arrived",
                "created_at": "Thu Nov 20 10:15:00 +0000 2026",
                "user": {"id_str": "9002", "screen_name": "sam", "name": "Sam"},
                "entities": {"user_mentions": [{"id_str": "2244994945"}]},
            }
        ],
    }
)


@webhooks_router.get(
    "/meta/{connection_id}",
    response_class=PlainTextResponse,
    summary="Meta subscription handshake (hub.challenge echoed as plain text)",
    responses={
        403: {"description": "Wrong verify token"},
        404: {"description": "Unknown connection"},
    },
)
async def meta_handshake(connection_id: str, request: Request) -> PlainTextResponse:
    cached = await _connection_for(request, connection_id, Platform.meta)
    tokens = cached.secrets("verify_token", now=datetime.now(UTC))
    challenge = meta_verification_challenge(dict(request.query_params), tokens)
    if challenge is None:
        raise ForbiddenError("hub.mode must be subscribe and hub.verify_token must match")
    return PlainTextResponse(challenge)


@webhooks_router.post(
    "/meta/{connection_id}",
    response_model=WebhookAck,
    summary="Meta webhooks: Pages, Messenger, Instagram, WhatsApp (X-Hub-Signature-256)",
    responses=WEBHOOK_RESPONSES,
    openapi_extra=META_WEBHOOK_BODY,
)
async def meta_webhook(connection_id: str, request: Request) -> Response:
    return await receive_meta_webhook(request, connection_id)


@webhooks_router.get(
    "/x/{connection_id}",
    summary="X CRC check: answers {response_token}",
    description=(
        "X's challenge-response check. Only tokens of the shape X sends are answered "
        "(1 to 256 characters of the base64 and base64url alphabets), at most "
        "`SOCIALCARE_INGEST_CRC_LIMIT_PER_MINUTE` per connection."
    ),
    responses={
        400: {"description": "crc_token missing or not of the shape X sends (problem+json)"},
        404: {"description": "Unknown connection (problem+json)"},
        409: {"description": "The connection has no consumer or client secret (problem+json)"},
        429: {"description": "Too many CRC checks for this connection (problem+json)"},
    },
)
async def x_crc(
    connection_id: str,
    request: Request,
    crc_token: str | None = Query(default=None, description="The challenge X sends"),
) -> dict[str, str]:
    # A CRC answer is a valid POST signature for a body equal to the token: refuse every token
    # X would not send, before anything else, and limit how many one connection answers.
    if not crc_token:
        raise BadRequestError("crc_token is required", field="crc_token", reason="missing")
    if not valid_x_crc_token(crc_token):
        raise BadRequestError(
            "crc_token is not of the shape X sends", field="crc_token", reason="pattern"
        )
    cached = await _connection_for(request, connection_id, Platform.x)
    retry_after = ingest_state(request).crc_limiter.acquire(
        cached.id, ingest_settings(request).crc_limit_per_minute
    )
    if retry_after is not None:
        raise RateLimitedError(retry_after, "too many CRC checks for this connection")
    now = datetime.now(UTC)
    secrets = cached.secrets("consumer_secret", now=now) or cached.secrets("client_secret", now=now)
    if not secrets:
        raise ConflictError(
            "this X connection has no consumer_secret or client_secret", field="secrets"
        )
    return {"response_token": x_crc_response_token(crc_token, secrets[0])}


@webhooks_router.post(
    "/x/{connection_id}",
    response_model=WebhookAck,
    summary="X Account Activity and X Activity API webhooks (x-twitter-webhooks-signature)",
    responses=WEBHOOK_RESPONSES,
    openapi_extra=X_WEBHOOK_BODY,
)
async def x_webhook(connection_id: str, request: Request) -> Response:
    return await receive_x_webhook(request, connection_id)
