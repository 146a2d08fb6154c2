"""Routing behind a gateway on PostgreSQL (real HTTP), with API keys of every kind of limit,
for the team and rules API tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from services.gateway.main import create_app as create_gateway
from services.routing.config import RoutingSettings
from services.routing.main import create_app as create_routing
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

SECRET = "routing-team-test-internal-secret"
ADMIN_KEY = "sc_test_admin_key_routing_team_0123456789abcdefghijklmnopq"

# name -> (scopes, departments, brands)
KEYS: dict[str, tuple[list[str], list[str] | None, list[str] | None]] = {
    "writer": (["team:write", "cases:read"], None, None),
    "reader": (["cases:read"], None, None),
    "cs_writer": (["team:write", "cases:read"], ["customer_service"], None),
    "hr_writer": (["team:write", "cases:read"], ["hr"], None),
    "other_brand": (["team:write", "cases:read"], None, ["some-other-brand"]),
    "no_scope": (["guidelines:read"], None, None),
}


@dataclass
class Suite:
    gateway: str
    routing_app: FastAPI
    client: httpx.AsyncClient
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, key: str) -> dict[str, str]:
        if key == "admin":
            return {"Authorization": f"Bearer {ADMIN_KEY}"}
        return self.keys[key]

    async def call(
        self, method: str, path: str, *, key: str = "writer", **kwargs: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, f"{self.gateway}{path}", headers=self.headers(key), **kwargs
        )

    async def get(self, path: str, *, key: str = "writer", **kwargs: Any) -> httpx.Response:
        return await self.call("GET", path, key=key, **kwargs)

    async def post(self, path: str, body: object, *, key: str = "writer") -> httpx.Response:
        return await self.call("POST", path, key=key, json=body)

    async def put(self, path: str, body: object, *, key: str = "writer") -> httpx.Response:
        return await self.call("PUT", path, key=key, json=body)

    async def patch(self, path: str, body: object, *, key: str = "writer") -> httpx.Response:
        return await self.call("PATCH", path, key=key, json=body)

    async def delete(self, path: str, *, key: str = "writer") -> httpx.Response:
        return await self.call("DELETE", path, key=key)

    async def departments(self, brand_id: str, *, key: str = "writer") -> dict[str, Any]:
        response = await self.get("/v1/departments", key=key, params={"brand_id": brand_id})
        assert response.status_code == 200, response.text
        return {item["key"]: item for item in response.json()["items"]}

    async def member(self, brand_id: str, **values: Any) -> dict[str, Any]:
        key = values.pop("key", "writer")
        body = {
            "brand_id": brand_id,
            "name": values.pop("name", "Lucía Martín"),
            "email": values.pop("email", f"{uuid.uuid4().hex[:10]}@acme.example"),
            "departments": values.pop("departments", ["customer_service"]),
            "languages": values.pop("languages", ["es", "en"]),
            **values,
        }
        response = await self.post("/v1/members", body, key=key)
        assert response.status_code == 201, response.text
        member: dict[str, Any] = response.json()
        return member


def brand() -> str:
    return f"brand-{uuid.uuid4().hex[:12]}"


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if field is not None:
        found = body.get("field") or [error["field"] for error in body.get("errors", [])]
        assert field == found or (isinstance(found, list) and field in found), body
    return body


@contextlib.asynccontextmanager
async def team_suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    databases = {
        name: await migrated_database(postgres_url, name) for name in ("gateway", "routing")
    }
    routing_app = create_routing(
        RoutingSettings(
            database_url=databases["routing"],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
        )
    )
    async with serve(routing_app) as routing_url:
        gateway_app = create_gateway(
            gateway_settings(
                databases["gateway"],
                internal_secret=SecretStr(SECRET),
                admin_key=SecretStr(ADMIN_KEY),
                routing_url=routing_url,
                key_cache_seconds=0,
            )
        )
        async with serve(gateway_app) as gateway_url, httpx.AsyncClient(timeout=60) as client:
            suite = Suite(gateway_url, routing_app, client)
            for name, (scopes, departments, brands) in KEYS.items():
                body: dict[str, Any] = {"name": f"team test {name}", "scopes": scopes}
                if departments is not None:
                    body["departments"] = departments
                if brands is not None:
                    body["brands"] = brands
                response = await client.post(
                    f"{gateway_url}/v1/api-keys", json=body, headers=suite.headers("admin")
                )
                assert response.status_code == 201, response.text
                suite.keys[name] = {"Authorization": f"Bearer {response.json()['key']}"}
            yield suite
