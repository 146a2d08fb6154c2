"""Errors of the team and rules API. People read them (leads configuring the team from a
console), so each carries its text in English (`detail`) and Spanish (`detail_es`)."""

from __future__ import annotations

from typing import Any

from shared.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError


class BilingualMixin:
    """`detail` in English, `detail_es` in Spanish, in the problem+json body."""

    def __init__(self, detail: str, detail_es: str, **extra: Any) -> None:
        super().__init__(detail, detail_es=detail_es, **extra)  # type: ignore[call-arg]


class DepartmentNotFoundError(BilingualMixin, NotFoundError):
    title = "Department not found"


class MemberNotFoundError(BilingualMixin, NotFoundError):
    title = "Member not found"


class AccountNotFoundError(BilingualMixin, NotFoundError):
    title = "Account not found"


class GrantNotFoundError(BilingualMixin, NotFoundError):
    title = "Access grant not found"


class RuleNotFoundError(BilingualMixin, NotFoundError):
    title = "Rule not found"


class SlaPolicyNotFoundError(BilingualMixin, NotFoundError):
    title = "SLA policy not found"


class DuplicateError(BilingualMixin, ConflictError):
    title = "Already exists"


class InvalidSettingError(BilingualMixin, UnprocessableError):
    """A value the schema accepts but that makes no sense (a calendar that never opens, a time
    zone that does not exist); `field` names it."""


class TeamForbiddenError(BilingualMixin, ForbiddenError):
    title = "Not allowed"


def department_not_found(brand_id: str, key: str, field: str = "department") -> NotFoundError:
    return DepartmentNotFoundError(
        f"brand {brand_id} has no department {key}",
        f"la marca {brand_id} no tiene el departamento {key}",
        field=field,
    )
