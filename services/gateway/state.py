"""What the gateway's lifespan builds, reached through `dependencies.gateway_state`."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.gateway.openapi import OpenApiAggregator
from services.gateway.proxy import Proxy
from services.gateway.rate_limit import RateLimiter
from services.gateway.service import KeyAuthenticator


@dataclass
class GatewayState:
    client: httpx.AsyncClient
    retry_client: httpx.AsyncClient
    proxy: Proxy
    openapi: OpenApiAggregator
    authenticator: KeyAuthenticator
    rate_limiter: RateLimiter
    key_failures: RateLimiter
