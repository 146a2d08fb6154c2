"""Errors of the alerts."""

from __future__ import annotations

from shared.errors import NotFoundError


class AlertNotFoundError(NotFoundError):
    title = "Alert not found"
