"""Errors of canned replies, in English (`detail`) and Spanish (`detail_es`): leads read them."""

from __future__ import annotations

from services.routing.team.exceptions import BilingualMixin
from shared.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError


class CannedReplyNotFoundError(BilingualMixin, NotFoundError):
    title = "Canned reply not found"


class DuplicateCodeError(BilingualMixin, ConflictError):
    title = "The code is taken"


class CannedReplyChangedError(BilingualMixin, ConflictError):
    title = "The canned reply has changed"


class UnknownVariablesError(BilingualMixin, UnprocessableError):
    title = "Unknown variables"


class GuidelineViolationError(BilingualMixin, UnprocessableError):
    title = "The text breaks the brand's guideline"


class CannedForbiddenError(BilingualMixin, ForbiddenError):
    title = "Not allowed"
