"""Ingest errors."""

from __future__ import annotations

from shared.errors import AppError, NotFoundError


class ConnectionNotFoundError(NotFoundError):
    title = "Connection not found"


class InteractionNotFoundError(NotFoundError):
    title = "Interaction not found"


class SignatureError(AppError):
    """401 without `WWW-Authenticate: Bearer`: platform webhooks authenticate by signature,
    and no API key would be accepted here."""

    status = 401
    title = "Invalid signature"
