"""Guidelines errors."""

from __future__ import annotations

from shared.errors import ConflictError, NotFoundError, PayloadTooLargeError, UnprocessableError


class GuidelineNotFoundError(NotFoundError):
    title = "Guideline not found"


class InvalidGuidelineError(UnprocessableError):
    title = "Invalid guideline"


class TextTooLargeError(PayloadTooLargeError):
    title = "Text too long"


class ConcurrentPublishError(ConflictError):
    title = "Guideline published concurrently"
