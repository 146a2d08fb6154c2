"""Ingest dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.ingest.config import IngestSettings
from services.ingest.credentials import CredentialBox
from services.ingest.state import IngestState
from shared.auth import Principal, Scope, require_any_scope, require_scopes
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency, state_dependency
from shared.limits import read_json_body

ConnectionsWriterDep = Annotated[Principal, Depends(require_any_scope(Scope.team_write))]
IngestWriterDep = Annotated[Principal, Depends(require_scopes(Scope.ingest_write))]
InteractionsReaderDep = Annotated[Principal, Depends(require_scopes(Scope.interactions_read))]


ingest_settings = settings_dependency(IngestSettings)
ingest_state = state_dependency(IngestState)


def credential_box(request: Request) -> CredentialBox:
    return ingest_state(request).credentials


SettingsDep = Annotated[IngestSettings, Depends(ingest_settings)]
CredentialsDep = Annotated[CredentialBox, Depends(credential_box)]


async def limited_json_body(request: Request) -> bytes:
    return await read_json_body(request, ingest_settings(request).max_body_bytes)


RawBodyDep = Annotated[bytes, Depends(limited_json_body)]
