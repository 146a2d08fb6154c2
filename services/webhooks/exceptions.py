"""Webhooks errors."""

from __future__ import annotations

from shared.errors import NotFoundError, UnprocessableError


class EndpointNotFoundError(NotFoundError):
    title = "Webhook endpoint not found"


class DeliveryNotFoundError(NotFoundError):
    title = "Webhook delivery not found"


class InvalidEndpointError(UnprocessableError):
    """A URL or event filter the service will not deliver to (422 with field and reason)."""

    title = "Invalid webhook endpoint"


class ReplayTooLargeError(UnprocessableError):
    title = "Replay too large"
