"""Gateway errors."""

from __future__ import annotations

from shared.errors import NotFoundError, UnprocessableError


class ApiKeyNotFoundError(NotFoundError):
    title = "API key not found"


class UnknownDepartmentError(UnprocessableError):
    title = "Unknown department"


class AdminKeyBrandLimitError(UnprocessableError):
    title = "An admin key cannot be limited to brands"
