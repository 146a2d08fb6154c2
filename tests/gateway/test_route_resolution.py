"""Which service owns a `/v1` path, and which paths skip API keys (platform webhooks only)."""

from __future__ import annotations

import pytest

from services.gateway.proxy import resolve
from shared.errors import NotFoundError

OWNERS = {
    "/v1/connections": "ingest",
    "/v1/connections/0b7f/secrets": "ingest",
    "/v1/interactions": "ingest",
    "/v1/interactions/abc": "ingest",
    "/v1/departments": "routing",
    "/v1/members/m-1": "routing",
    "/v1/accounts": "routing",
    "/v1/responsibilities": "routing",
    "/v1/rules/r-1": "routing",
    "/v1/cases/c-1/replies": "routing",
    "/v1/replies/r-1/approve": "routing",
    "/v1/guidelines/check": "guidelines",
    "/v1/guidelines/acme/import": "guidelines",
    "/v1/kpis/first-response-time": "kpi",
    "/v1/goals": "kpi",
    "/v1/alerts": "kpi",
    "/v1/fans/f-1": "kpi",
    "/v1/webhook-endpoints": "webhooks",
    "/v1/webhook-deliveries/d-1": "webhooks",
}


@pytest.mark.parametrize(("path", "service"), sorted(OWNERS.items()))
def test_every_resource_goes_to_its_owning_service_with_a_key(path: str, service: str) -> None:
    target = resolve(path)
    assert target.service == service
    assert target.public is False


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhooks/meta/0b7f3a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "/v1/webhooks/x/0b7f3a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    ],
)
def test_platform_webhooks_go_to_ingest_without_a_key(path: str) -> None:
    target = resolve(path)
    assert target.service == "ingest"
    assert target.public is True


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhook-endpoints/meta/x",  # a look-alike prefix is not a platform webhook
        "/v1/connections/webhooks/meta/x",
        "/v1/interactions/v1/webhooks/x/y",
    ],
)
def test_only_the_platform_webhook_prefixes_are_public(path: str) -> None:
    assert resolve(path).public is False


@pytest.mark.parametrize(
    "path", ["/v1/", "/v1/nothing-here", "/v1/api-key", "/v1/Interactions", "/v1/kpi/x"]
)
def test_an_unknown_resource_is_404(path: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve(path)
    assert caught.value.status == 404
