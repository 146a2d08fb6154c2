"""What the ingest lifespan builds, reached through `dependencies.ingest_state`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.ingest.credentials import CredentialBox
from services.ingest.pipeline import GroupCommitWriter
from services.ingest.service.connections import ConnectionCache
from shared.rate_limit import RateLimiter


@dataclass
class IngestState:
    credentials: CredentialBox
    connections: ConnectionCache
    crc_limiter: RateLimiter
    writer: GroupCommitWriter
    # The hourly purge of expired rows; started once the language models are loaded.
    purge: asyncio.Task[None] | None = None
