"""Ingest dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.config import IngestSettings
from services.ingest.credentials import CredentialBox
from shared.app import request_session, runtime_of
from shared.auth import Principal, Scope, require_any_scope, require_scopes
from shared.limits import read_json_body

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


async def limited_json_body(request: Request) -> bytes:
    return await read_json_body(request, ingest_settings(request).max_body_bytes)


RawBodyDep = Annotated[bytes, Depends(limited_json_body)]
