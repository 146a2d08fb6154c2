"""Guidelines HTTP API: versioned guidelines per brand, YAML import/export, and the check API."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from services.guidelines import repository, service
from services.guidelines.dependencies import (
    CacheDep,
    CheckerDep,
    ReaderDep,
    SessionDep,
    SettingsDep,
    WriterDep,
)
from services.guidelines.engine import (
    GUIDELINE_EXAMPLE,
    GuidelineConfig,
    RuleLoadError,
    export_guideline_yaml,
    load_guideline_yaml,
)
from services.guidelines.exceptions import GuidelineNotFoundError
from services.guidelines.models import GuidelineVersion
from services.guidelines.schemas import (
    CHECK_RESPONSE_EXAMPLES,
    BatchCheckRequest,
    BatchCheckResponse,
    CheckRequest,
    CheckResponse,
    GuidelineRead,
    GuidelineVersionPage,
    GuidelineVersionSummary,
    PackSummary,
    ValeImportResult,
    ValeStyleImport,
)
from shared.errors import BadRequestError, UnsupportedMediaTypeError
from shared.limits import read_limited_body
from shared.pagination import fetch_size

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid principal (call through the gateway with an API key)"},
    403: {
        "description": (
            "The API key lacks the scope (or, to publish, has a department limit: a guideline "
            "binds the whole brand)"
        )
    },
    404: {
        "description": (
            "The brand has no guideline, or the API key is limited to other brands "
            "(answered exactly like a missing guideline)"
        )
    },
}
router = APIRouter(prefix="/v1/guidelines", tags=["guidelines"], responses=PROBLEMS)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
JSON_TYPES = ("application/json",)
MAX_YAML_BYTES = 1024 * 1024
# Versions are PostgreSQL integers.
MAX_VERSION = 2**31 - 1


class YamlResponse(PlainTextResponse):
    media_type = "application/yaml"


def _read(row: GuidelineVersion) -> GuidelineRead:
    return GuidelineRead(
        brand_id=row.brand_id,
        version=row.version,
        config=GuidelineConfig.model_validate(row.config),
        rule_count=row.rule_count,
        published_by=row.published_by,
        created_at=row.created_at,
    )


@router.get("/packs", response_model=list[PackSummary], summary="The shipped rule packs")
async def list_rule_packs(_principal: ReaderDep) -> list[PackSummary]:
    return service.pack_summaries()


@router.post(
    "/check",
    response_model=CheckResponse,
    summary="Check a reply against the brand's current guideline; every violation explained",
    description="`passed` means publishable under the brand's `publish_policy` (part of the "
    "guideline, so versioned with it; defaults: `min_score` 60, `blocking_levels` "
    '`["error"]`): no violation at a blocking level and a score of at least the minimum. When '
    "it is false, `blockers` says why, in the reply's language; `policy` is the policy applied. "
    "Messages and suggestions are in the reply's language (`lang`, detected when absent).",
    responses={
        200: {"content": {"application/json": {"examples": CHECK_RESPONSE_EXAMPLES}}},
        404: {"description": "The brand has no guideline"},
        413: {"description": "Text over 64 KiB"},
    },
)
async def check_reply(
    data: CheckRequest, principal: CheckerDep, session: SessionDep, cache: CacheDep
) -> CheckResponse:
    service.ensure_brand(principal, data.brand_id)
    version, compiled = await service.current_guideline(session, data.brand_id, cache)
    response = await asyncio.to_thread(
        service.run_check,
        compiled,
        version,
        text=data.text,
        lang=data.lang,
        channel=data.channel,
        context=data.context,
    )
    await service.record_check(
        session,
        data.brand_id,
        response,
        channel=data.channel,
        reply_id=data.reply_id,
        case_id=data.case_id,
    )
    return response


@router.post(
    "/check/batch",
    response_model=BatchCheckResponse,
    summary="Check up to 1,000 texts in one call",
    responses={
        404: {"description": "The brand has no guideline"},
        413: {"description": "Too many texts, a text over 64 KiB or texts over the batch total"},
    },
)
async def check_replies(
    data: BatchCheckRequest,
    principal: CheckerDep,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> BatchCheckResponse:
    service.ensure_brand(principal, data.brand_id)
    service.check_batch_size(
        [item.text for item in data.items],
        max_texts=settings.max_batch_texts,
        max_bytes=settings.max_batch_text_bytes,
    )
    version, compiled = await service.current_guideline(session, data.brand_id, cache)
    # Checking is CPU work: in a worker thread, so the event loop keeps serving other requests.
    results = await asyncio.to_thread(
        service.run_batch, compiled, version, data.items, lang=data.lang, channel=data.channel
    )
    for item, response in zip(data.items, results, strict=True):
        await service.record_check(
            session, data.brand_id, response, channel=item.channel or data.channel
        )
    passed = sum(1 for result in results if result.passed)
    return BatchCheckResponse(
        guideline_version=version, passed=passed, failed=len(results) - passed, results=results
    )


@router.get(
    "/{brand_id}",
    response_model=GuidelineRead,
    summary="The brand's current guideline",
    responses={404: {"description": "The brand has no guideline"}},
)
async def get_guideline(brand_id: str, principal: ReaderDep, session: SessionDep) -> GuidelineRead:
    service.ensure_brand(principal, brand_id)
    row = await repository.latest_version(session, brand_id)
    if row is None:
        raise GuidelineNotFoundError(f"brand {brand_id} has no guideline")
    return _read(row)


@router.put(
    "/{brand_id}",
    response_model=GuidelineRead,
    status_code=201,
    summary="Publish a new immutable version of the brand's guideline",
    description=(
        "The guideline is the chosen packs, rule overrides, terminology, competitors, formality "
        "(tu/usted) and channel limits. Invalid rules answer 422 naming the rule and line."
    ),
    responses={
        409: {"description": "Another version was published at the same moment; retry"},
        422: {"description": "Invalid guideline or rule (problem+json with rule_id and line)"},
    },
)
async def publish_guideline(
    brand_id: str,
    config: GuidelineConfig,
    principal: WriterDep,
    session: SessionDep,
    cache: CacheDep,
) -> GuidelineRead:
    service.ensure_may_publish(principal, brand_id)
    row = await service.publish_guideline(
        session, brand_id, config, published_by=principal.key_id, cache=cache
    )
    return _read(row)


@router.get(
    "/{brand_id}/versions", response_model=GuidelineVersionPage, summary="Every published version"
)
async def list_guideline_versions(
    brand_id: str,
    principal: ReaderDep,
    session: SessionDep,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: int | None = Query(
        default=None, ge=1, le=MAX_VERSION, description="Versions older than this"
    ),
) -> GuidelineVersionPage:
    service.ensure_brand(principal, brand_id)
    rows = await repository.list_versions(session, brand_id, limit=fetch_size(limit), before=cursor)
    return GuidelineVersionPage.from_rows(
        rows,
        limit,
        item=lambda row: GuidelineVersionSummary(
            version=row.version,
            rule_count=row.rule_count,
            packs=list(row.config.get("packs", [])),
            published_by=row.published_by,
            created_at=row.created_at,
        ),
        cursor=lambda row: str(row.version),
    )


@router.get(
    "/{brand_id}/versions/{version}",
    response_model=GuidelineRead,
    summary="One version",
    responses={404: {"description": "No such version"}},
)
async def get_guideline_version(
    brand_id: str,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    principal: ReaderDep,
    session: SessionDep,
) -> GuidelineRead:
    service.ensure_brand(principal, brand_id)
    row = await repository.get_version(session, brand_id, version)
    if row is None:
        raise GuidelineNotFoundError(f"brand {brand_id} has no guideline version {version}")
    return _read(row)


@router.get(
    "/{brand_id}/export",
    response_class=YamlResponse,
    summary="The current guideline as YAML",
    responses={
        200: {
            "content": {
                # A YAML mapping: "object" replaces the "string" FastAPI writes for text.
                "application/yaml": {
                    "schema": {"type": "object", "$ref": "#/components/schemas/GuidelineConfig"}
                }
            }
        },
        404: {"description": "The brand has no guideline"},
    },
)
async def export_guideline(
    brand_id: str, principal: ReaderDep, session: SessionDep
) -> YamlResponse:
    service.ensure_brand(principal, brand_id)
    row = await repository.latest_version(session, brand_id)
    if row is None:
        raise GuidelineNotFoundError(f"brand {brand_id} has no guideline")
    return YamlResponse(export_guideline_yaml(GuidelineConfig.model_validate(row.config)))


IMPORT_YAML_EXAMPLE = """\
packs: [standards, tone_style, legal, hr]
formality: usted
competitors:
  - name: Globex
channel_limits:
  x: 280
"""
IMPORT_BODY: dict[str, Any] = {
    # Not marked `required` although it is (without a body the answer is 415): generated
    # clients break on a required body with two content types (openapi-python-client 0.29).
    "requestBody": {
        "description": (
            "Required. The guideline in the export format: YAML (`application/yaml`, what "
            "`GET /v1/guidelines/{brand_id}/export` answers) or the same document as JSON."
        ),
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/GuidelineConfig"},
                "example": GUIDELINE_EXAMPLE,
            },
            # A document sent as it is (generated clients take it as a file or bytes).
            "application/yaml": {
                "schema": {"type": "string", "format": "binary"},
                "example": IMPORT_YAML_EXAMPLE,
            },
        },
    }
}


def _imported_guideline(content_type: str, body: bytes) -> GuidelineConfig:
    """The guideline of an import body, as JSON or as YAML (the export format)."""
    if content_type in JSON_TYPES:
        try:
            return GuidelineConfig.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            ) from exc
    if content_type not in YAML_TYPES:
        raise UnsupportedMediaTypeError(
            "send application/yaml or application/json", field="Content-Type"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError("the YAML must be UTF-8", field="body") from exc
    try:
        return load_guideline_yaml(text, source="import")
    except RuleLoadError as exc:
        raise service.invalid_guideline(exc) from exc


@router.put(
    "/{brand_id}/import",
    response_model=GuidelineRead,
    status_code=201,
    summary="Publish a new version from YAML (the export format) or the same document as JSON",
    openapi_extra=IMPORT_BODY,
    responses={
        409: {"description": "Another version was published at the same moment; retry"},
        415: {"description": "Neither YAML nor JSON"},
        422: {"description": "Invalid YAML, JSON or rule, with rule_id and line"},
    },
)
async def import_guideline(
    brand_id: str,
    request: Request,
    principal: WriterDep,
    session: SessionDep,
    cache: CacheDep,
) -> GuidelineRead:
    service.ensure_may_publish(principal, brand_id)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in YAML_TYPES + JSON_TYPES:
        raise UnsupportedMediaTypeError(
            "send application/yaml or application/json", field="Content-Type"
        )
    body = await read_limited_body(request, MAX_YAML_BYTES)
    config = _imported_guideline(content_type, body)
    row = await service.publish_guideline(
        session, brand_id, config, published_by=principal.key_id, cache=cache
    )
    return _read(row)


@router.put(
    "/{brand_id}/vale",
    response_model=ValeImportResult,
    status_code=201,
    summary="Import a Vale style folder: its rules become the brand's custom rules",
    description=(
        "Vale kinds this engine shares (existence, substitution, occurrence, repetition, "
        "consistency, conditional, capitalization, metric) are imported; others are listed in "
        "`skipped`. Publishes a new version; rules with the same id are replaced."
    ),
    responses={422: {"description": "A rule that cannot load, with its file and line"}},
)
async def import_vale_style(
    brand_id: str,
    data: ValeStyleImport,
    principal: WriterDep,
    session: SessionDep,
    cache: CacheDep,
) -> ValeImportResult:
    service.ensure_may_publish(principal, brand_id)
    row, imported, skipped = await service.import_vale_rules(
        session, brand_id, data.style, data.files, published_by=principal.key_id, cache=cache
    )
    return ValeImportResult(guideline=_read(row), imported=imported, skipped=skipped)
