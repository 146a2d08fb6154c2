"""Routing errors."""

from __future__ import annotations

from shared.errors import AppError, ForbiddenError, PayloadTooLargeError


class TextTooLargeError(PayloadTooLargeError):
    title = "Text too long"


class BatchTooLargeError(PayloadTooLargeError):
    title = "Too many texts"


class BrandForbiddenError(ForbiddenError):
    title = "Brand not allowed"


class NotAcceptableError(AppError):
    status = 406
    title = "Not acceptable"
