"""Routing rules: intent classification, corrections as labelled examples, their export; and
the brand's routing configuration for case routing (`load_routing_config`, from
`services/routing/team/snapshot.py`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import repository
from services.routing.exceptions import (
    BatchTooLargeError,
    BrandForbiddenError,
    NotAcceptableError,
    TextTooLargeError,
)
from services.routing.intents import (
    Intent,
    IntentClassifier,
    IntentInputError,
    IntentPrediction,
    TextTooLongError,
)
from services.routing.models import IntentExample
from services.routing.schemas import (
    BatchClassifyRequest,
    ClassifyResponse,
    IntentExampleRead,
    ScoredIntentRead,
)
from services.routing.team.snapshot import (
    AccountConfig as AccountConfig,
)
from services.routing.team.snapshot import (
    DepartmentConfig as DepartmentConfig,
)
from services.routing.team.snapshot import (
    RoutingConfig as RoutingConfig,
)
from services.routing.team.snapshot import (
    SlaPolicyConfig as SlaPolicyConfig,
)
from services.routing.team.snapshot import (
    load_routing_config as load_routing_config,
)
from services.routing.team.snapshot import (
    with_current_loads as with_current_loads,
)
from shared.auth import Principal
from shared.errors import UnprocessableError

EXPORT_PAGE = 1000
EXPORT_COLUMNS = tuple(IntentExampleRead.model_fields)
JSON_LINES = "application/x-ndjson"
CSV = "text/csv"
_JSON_LINES_TYPES = {"application/x-ndjson", "application/jsonl", "application/json-lines"}


def _response(prediction: IntentPrediction) -> ClassifyResponse:
    return ClassifyResponse(
        intent=prediction.intent,
        confidence=prediction.confidence,
        lang=prediction.lang,
        alternatives=[
            ScoredIntentRead(intent=item.intent, confidence=item.confidence)
            for item in prediction.alternatives
        ],
    )


def classify_text(classifier: IntentClassifier, text: str, lang: str | None) -> ClassifyResponse:
    """Classify one post; bad text becomes a 4xx naming the field."""
    try:
        return _response(classifier.classify(text, lang))
    except TextTooLongError as exc:
        raise TextTooLargeError(str(exc), field="text") from exc
    except IntentInputError as exc:
        raise UnprocessableError(str(exc), field=exc.field) from exc


def classify_batch(
    classifier: IntentClassifier, request: BatchClassifyRequest, *, max_texts: int
) -> list[ClassifyResponse]:
    if len(request.items) > max_texts:
        raise BatchTooLargeError(
            f"a batch holds at most {max_texts} texts; got {len(request.items)}", field="items"
        )
    results = []
    for position, item in enumerate(request.items):
        try:
            results.append(classify_text(classifier, item.text, item.lang or request.lang))
        except (TextTooLargeError, UnprocessableError) as exc:
            exc.extra["field"] = f"items.{position}.{exc.extra.get('field', 'text')}"
            raise
    return results


def ensure_brand_access(principal: Principal, brand_id: str) -> None:
    """Refuse (403) an export asked for a brand outside the key's brand limit."""
    if principal.allows_brand(brand_id):
        return
    raise BrandForbiddenError(f"this API key may not read brand {brand_id}", field="brand_id")


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


async def record_intent_correction(
    session: AsyncSession,
    *,
    brand_id: str,
    text: str,
    intent: Intent,
    labelled_by: str,
    previous_intent: Intent | None = None,
    lang: str | None = None,
    channel: str | None = None,
    case_id: str | None = None,
) -> IntentExample:
    """Store a person's label for a post as a training example (one per brand and text: a later
    correction of the same text replaces the label). The caller's transaction commits it."""
    if not text.strip():
        raise UnprocessableError("the text is empty", field="text")
    return await repository.upsert_intent_example(
        session,
        {
            "id": str(uuid.uuid4()),
            "brand_id": brand_id,
            "text": text,
            "text_sha256": text_fingerprint(text),
            "intent": Intent(intent).value,
            "previous_intent": Intent(previous_intent).value if previous_intent else None,
            "lang": lang,
            "channel": channel,
            "case_id": case_id,
            "labelled_by": labelled_by,
        },
    )


def export_media_type(accept: str | None) -> str:
    """JSON lines unless the client asks for CSV; 406 for a type we cannot give."""
    if not accept:
        return JSON_LINES
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media_type in wanted:
        if media_type == CSV:
            return CSV
        if media_type in _JSON_LINES_TYPES or media_type in {"*/*", "application/*"}:
            return JSON_LINES
    raise NotAcceptableError(f"examples are exported as {JSON_LINES} or {CSV}", field="Accept")


def _read(example: IntentExample) -> IntentExampleRead:
    return IntentExampleRead(
        id=example.id,
        brand_id=example.brand_id,
        text=example.text,
        intent=Intent(example.intent),
        previous_intent=Intent(example.previous_intent) if example.previous_intent else None,
        lang=example.lang,
        channel=example.channel,
        case_id=example.case_id,
        labelled_by=example.labelled_by,
        updated_at=example.updated_at.isoformat(),
    )


async def export_intent_examples(session: AsyncSession, brand_id: str, media_type: str) -> str:
    """Every labelled example of the brand, oldest first, as JSON lines or CSV."""
    rows: list[IntentExampleRead] = []
    after = None
    while True:
        page = await repository.list_intent_examples(
            session, brand_id, limit=EXPORT_PAGE, after=after
        )
        rows.extend(_read(example) for example in page)
        if len(page) < EXPORT_PAGE:
            break
        after = (page[-1].created_at, page[-1].id)
    if media_type == CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.model_dump(mode="json") for row in rows)
        return buffer.getvalue()
    return "".join(
        json.dumps(row.model_dump(mode="json"), ensure_ascii=False) + "\n" for row in rows
    )
