"""Ingest dependencies as Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest.config import IngestSettings
from services.ingest.credentials import CredentialBox
from services.ingest.models import Connection
from services.ingest.pipeline import GroupCommitWriter
from services.ingest.service import connections, interactions
from services.ingest.service.connections import ConnectionCache
from services.ingest.state import IngestState
from shared.auth import (
    Principal,
    Scope,
    ensure_every_department,
    require_any_scope,
    require_scopes,
)
from shared.dependencies import SessionDep as SessionDep
from shared.dependencies import settings_dependency, state_dependency, valid_id_dependency
from shared.events.interactions import Interaction
from shared.limits import read_json_body
from shared.runtime import runtime_of

ConnectionsWriterDep = Annotated[Principal, Depends(require_any_scope(Scope.team_write))]
IngestWriterDep = Annotated[Principal, Depends(require_scopes(Scope.ingest_write))]
InteractionsReaderDep = Annotated[Principal, Depends(require_scopes(Scope.interactions_read))]


def _every_department(action: str) -> Callable[[Principal], Principal]:
    """The connections writer, refused (403) when its key is limited to some departments:
    connections and unrouted interactions belong to no department."""

    def principal(principal: ConnectionsWriterDep) -> Principal:
        ensure_every_department(principal, action)
        return principal

    return principal


# Ingest does not know which department an interaction falls to (routing decides, and HR's are
# for HR only): a department-limited key reads them through its cases.
INTERACTIONS_UNROUTED = "reading interactions (which no department owns before routing)"


def _unrouted_reader(principal: InteractionsReaderDep) -> Principal:
    ensure_every_department(principal, INTERACTIONS_UNROUTED)
    return principal


ConnectionCreatorDep = Annotated[
    Principal, Depends(_every_department("connecting a platform account"))
]
ConnectionChangerDep = Annotated[Principal, Depends(_every_department("changing a connection"))]
ConnectionRemoverDep = Annotated[Principal, Depends(_every_department("deleting a connection"))]
UnroutedReaderDep = Annotated[Principal, Depends(_unrouted_reader)]

ingest_settings = settings_dependency(IngestSettings)
ingest_state = state_dependency(IngestState)


def session_factory(request: Request) -> async_sessionmaker[AsyncSession]:
    """For work that needs sessions of its own, each held only for one step (the intake)."""
    return runtime_of(request).sessions


def credential_box(request: Request) -> CredentialBox:
    return ingest_state(request).credentials


def connection_cache(request: Request) -> ConnectionCache:
    return ingest_state(request).connections


def group_commit_writer(request: Request) -> GroupCommitWriter:
    return ingest_state(request).writer


SettingsDep = Annotated[IngestSettings, Depends(ingest_settings)]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(session_factory)]
CredentialsDep = Annotated[CredentialBox, Depends(credential_box)]
ConnectionCacheDep = Annotated[ConnectionCache, Depends(connection_cache)]
WriterDep = Annotated[GroupCommitWriter, Depends(group_commit_writer)]

# The object a route's path names, or its 404 (also for a brand outside the key's limit).
valid_connection_id = valid_id_dependency(
    "connection_id", connections.get_connection, ConnectionsWriterDep
)
valid_interaction_id = valid_id_dependency(
    "interaction_id", interactions.get_interaction, UnroutedReaderDep
)
ConnectionDep = Annotated[Connection, Depends(valid_connection_id)]
InteractionDep = Annotated[Interaction, Depends(valid_interaction_id)]


async def limited_json_body(request: Request) -> bytes:
    return await read_json_body(request, ingest_settings(request).max_body_bytes)


RawBodyDep = Annotated[bytes, Depends(limited_json_body)]
