"""Routing HTTP API: intent classification and the labelled examples behind it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import Response

from services.routing import service
from services.routing.dependencies import CaseReaderDep, ClassifierDep, SessionDep, SettingsDep
from services.routing.schemas import (
    BATCH_EXAMPLES,
    CLASSIFY_EXAMPLES,
    INTENTS_DESCRIPTION,
    BatchClassifyRequest,
    BatchClassifyResponse,
    ClassifyRequest,
    ClassifyResponse,
)
from shared.downloads import attachment

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {"description": "The API key lacks the scope"},
}
router = APIRouter(prefix="/v1/intents", tags=["intents"], responses=PROBLEMS)
# Batches past this size are classified off the event loop, so other requests are not held.
INLINE_BATCH = 50


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    summary="The intent of one post, with its confidence and the next likeliest intents",
    description=INTENTS_DESCRIPTION,
    responses={
        413: {"description": "Text over 64 KiB"},
        422: {"description": "Empty text, or a lang other than es/en"},
    },
)
async def classify(
    data: Annotated[ClassifyRequest, Body(openapi_examples=CLASSIFY_EXAMPLES)],
    _principal: CaseReaderDep,
    classifier: ClassifierDep,
) -> ClassifyResponse:
    return service.classify_text(classifier, data.text, data.lang)


@router.post(
    "/classify/batch",
    response_model=BatchClassifyResponse,
    summary="Classify up to 1,000 posts in one call: one result each, in order",
    responses={
        413: {"description": "Over 1,000 texts, or a text over 64 KiB"},
        422: {"description": "An empty text, or a lang other than es/en (field names the item)"},
    },
)
async def classify_batch(
    data: Annotated[BatchClassifyRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    _principal: CaseReaderDep,
    classifier: ClassifierDep,
    settings: SettingsDep,
) -> BatchClassifyResponse:
    if len(data.items) <= INLINE_BATCH:
        results = service.classify_batch(classifier, data, max_texts=settings.max_batch_texts)
    else:
        results = await asyncio.to_thread(
            service.classify_batch, classifier, data, max_texts=settings.max_batch_texts
        )
    return BatchClassifyResponse(results=results)


@router.get(
    "/examples",
    summary="Export the brand's labelled examples (intent corrections) for retraining",
    description=(
        "JSON lines (`application/x-ndjson`, the default) or CSV (`Accept: text/csv`), oldest "
        "first. Feed the file to `make retrain-intents EXAMPLES=...`."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/x-ndjson": {
                    "example": '{"id": "…", "brand_id": "acme", "text": "Trabajé aquí y no me '
                    'pagan el finiquito", "intent": "employee_matter", "previous_intent": '
                    '"complaint", "lang": "es", ...}\n'
                },
                "text/csv": {"example": "id,brand_id,text,intent,previous_intent,lang,...\n"},
            }
        },
        403: {"description": "The key lacks the scope or may not read this brand"},
        406: {"description": "Accept asks for something other than JSON lines or CSV"},
    },
)
async def export_examples(
    principal: CaseReaderDep,
    session: SessionDep,
    brand_id: str = Query(min_length=1, max_length=100),
    accept: str | None = Header(default=None),
) -> Response:
    service.ensure_brand_access(principal, brand_id)
    media_type = service.export_media_type(accept)
    body = await service.export_intent_examples(session, brand_id, media_type)
    extension = "csv" if media_type == service.CSV else "jsonl"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": attachment(f"intent-examples-{brand_id}.{extension}")},
    )
