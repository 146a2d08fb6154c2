"""KPI API errors."""

from __future__ import annotations

from shared.errors import NotFoundError, UnprocessableError


class BrandNotFoundError(NotFoundError):
    title = "Brand not found"


class InvalidQueryError(UnprocessableError):
    """A parameter that passed its type but not the rules (names the field)."""

    title = "Validation failed"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
