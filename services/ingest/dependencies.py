"""Ingest dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.config import IngestSettings
from services.ingest.credentials import CredentialBox
from shared.app import request_session, runtime_of
from shared.auth import Principal, Scope, require_any_scope, require_scopes
from shared.errors import PayloadTooLargeError, UnsupportedMediaTypeError

SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
ConnectionsWriterDep = Annotated[Principal, Depends(require_any_scope(Scope.team_write))]
IngestWriterDep = Annotated[Principal, Depends(require_scopes(Scope.ingest_write))]
InteractionsReaderDep = Annotated[Principal, Depends(require_scopes(Scope.interactions_read))]


def ingest_settings(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.settings
    return settings


def credential_box(request: Request) -> CredentialBox:
    box: CredentialBox = runtime_of(request).extras["credentials"]
    return box


SettingsDep = Annotated[IngestSettings, Depends(ingest_settings)]
CredentialsDep = Annotated[CredentialBox, Depends(credential_box)]


async def json_body(request: Request, limit: int) -> bytes:
    """The raw body, refused when it is not JSON (415) or larger than `limit` bytes (413)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"send application/json, not {content_type or 'no content type'}",
            field="Content-Type",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is over {limit} bytes", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def limited_json_body(request: Request) -> bytes:
    return await json_body(request, ingest_settings(request).max_body_bytes)


RawBodyDep = Annotated[bytes, Depends(limited_json_body)]
