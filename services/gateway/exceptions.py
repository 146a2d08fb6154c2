"""Gateway errors."""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import AppError, NotFoundError, UnprocessableError


class ApiKeyNotFoundError(NotFoundError):
    title = "API key not found"


class UnknownDepartmentError(UnprocessableError):
    title = "Unknown department"


class AdminKeyBrandLimitError(UnprocessableError):
    title = "An admin key cannot be limited to brands"


class MethodNotAllowedError(AppError):
    status = 405
    title = "Method not allowed"

    def __init__(self, methods: Iterable[str]) -> None:
        allowed = ", ".join(sorted(set(methods)))
        super().__init__(
            f"this path accepts {allowed}", headers={"Allow": allowed}, allowed=allowed
        )


class MemberBrandOutsideLimitError(UnprocessableError):
    title = "The bound member's brand is outside the key's brands"
