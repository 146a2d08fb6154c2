"""Case errors, each with its HTTP status."""

from __future__ import annotations

from shared.errors import ConflictError, NotFoundError


class CaseNotFoundError(NotFoundError):
    title = "Case not found"


class MemberNotFoundError(NotFoundError):
    title = "Member not found"


class DepartmentNotFoundError(NotFoundError):
    title = "Department not found"


class CaseChangedError(ConflictError):
    title = "The case has changed"


class CaseNotActiveError(ConflictError):
    title = "The case is not open"


class MemberCannotTakeCaseError(ConflictError):
    title = "The member cannot take the case"
