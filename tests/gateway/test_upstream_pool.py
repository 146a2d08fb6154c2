"""The gateway's pooled connections to the services expire before the services drop them."""

from __future__ import annotations

import httpx
import pytest
import uvicorn
from pydantic import ValidationError

from services.gateway.config import GatewaySettings
from services.gateway.main import create_app
from services.gateway.state import GatewayState
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

pytestmark = pytest.mark.integration


def test_idle_expiry_is_below_the_services_keep_alive() -> None:
    # uvicorn closes an idle connection after `timeout_keep_alive`; a request the gateway sends
    # on such a connection just as it closes fails ("server disconnected") and a POST is not
    # retried, so the gateway must give connections up first.
    services_keep_alive = uvicorn.Config(app="services.gateway.main:create_app").timeout_keep_alive
    assert GatewaySettings.model_fields["upstream_keepalive_seconds"].default < services_keep_alive
    with pytest.raises(ValidationError):
        GatewaySettings(upstream_keepalive_seconds=services_keep_alive)


async def test_the_pool_uses_the_setting(postgres_url: str) -> None:
    database = await migrated_database(postgres_url, "gateway")
    app = create_app(gateway_settings(database, upstream_keepalive_seconds=1.5))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).status_code == 200
        state = app.state.runtime.state_as(GatewayState)
        assert state.client._transport._pool._keepalive_expiry == 1.5
