"""Errors of the fans."""

from __future__ import annotations

from shared.errors import ConflictError, NotFoundError


class FanNotFoundError(NotFoundError):
    title = "Fan not found"


class FanLinkError(ConflictError):
    title = "Fans cannot be linked"
