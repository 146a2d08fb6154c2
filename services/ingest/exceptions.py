"""Ingest errors."""

from __future__ import annotations

from shared.errors import ConflictError, NotFoundError, UnauthorizedError


class ConnectionNotFoundError(NotFoundError):
    title = "Connection not found"


class InteractionNotFoundError(NotFoundError):
    title = "Interaction not found"


class SignatureError(UnauthorizedError):
    title = "Invalid signature"


class IdempotencyConflictError(ConflictError):
    title = "Idempotency-Key reused with a different request"
