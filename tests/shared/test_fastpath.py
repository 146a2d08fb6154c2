"""Fast routes: matched before FastAPI's routing, yet with the same request ids, metrics and
problem+json errors as every other route (over real HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.app import build_service_app
from shared.errors import NotFoundError
from shared.fastpath import FastRoute
from shared.settings import ServiceSettings
from tests.conftest import serve


async def echo(request: Request, parameter: str) -> Response:
    if parameter == "missing":
        raise NotFoundError(f"no thing {parameter}")
    if parameter == "db-down":
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
    if parameter == "bug":
        raise RuntimeError("a bug with a secret inside")
    return JSONResponse({"parameter": parameter, "body": (await request.body()).decode()})


ROUTES = (FastRoute("POST", "/v1/things/", "/v1/things/{thing_id}", echo),)
router = APIRouter()


@router.get("/v1/things/{thing_id}")
async def get_thing(thing_id: str) -> dict[str, str]:
    return {"served_by": "fastapi", "thing_id": thing_id}


@router.post("/v1/things/{thing_id}/notes")
async def post_note(thing_id: str) -> dict[str, str]:
    return {"served_by": "fastapi", "thing_id": thing_id}


@pytest.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    settings = ServiceSettings(
        service_name="fastpath-test", database_url="sqlite+aiosqlite://", kafka_enabled=False
    )
    app = build_service_app(
        settings=settings,
        title="fast path test",
        description="",
        routers=[router],
        tables=None,
        fast_routes=ROUTES,
    )
    async with serve(app) as url:
        yield url


def test_a_route_matches_its_method_and_one_path_segment() -> None:
    route = ROUTES[0]
    assert route.match({"method": "POST", "path": "/v1/things/abc"}) == "abc"
    assert route.match({"method": "GET", "path": "/v1/things/abc"}) is None
    assert route.match({"method": "POST", "path": "/v1/things/"}) is None
    assert route.match({"method": "POST", "path": "/v1/things/abc/notes"}) is None
    assert route.match({"method": "POST", "path": "/v1/thingsabc"}) is None
    with pytest.raises(ValueError, match="prefix"):
        FastRoute("POST", "/v1/things", "/v1/things/{id}", echo)


async def test_fast_routes_answer_and_everything_else_reaches_fastapi(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        fast = await client.post(
            "/v1/things/señal", content="¿Hola?", headers={"X-Request-Id": "r-1"}
        )
        assert fast.status_code == 200
        assert fast.json() == {"parameter": "señal", "body": "¿Hola?"}
        assert fast.headers["x-request-id"] == "r-1"
        assert len((await client.post("/v1/things/x")).headers["x-request-id"]) == 32

        assert (await client.get("/v1/things/abc")).json()["served_by"] == "fastapi"
        assert (await client.post("/v1/things/abc/notes")).json()["served_by"] == "fastapi"
        assert (await client.get("/healthz")).status_code == 200

    labels = {"service": "fastpath-test", "method": "POST", "route": "/v1/things/{thing_id}"}
    count = REGISTRY.get_sample_value("socialcare_http_requests_total", {**labels, "status": "200"})
    assert count is not None
    assert count >= 2


async def test_fast_route_errors_are_problem_json(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        missing = await client.post("/v1/things/missing")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["detail"] == "no thing missing"
        assert missing.json()["instance"] == "/v1/things/missing"

        down = await client.post("/v1/things/db-down")
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"

        bug = await client.post("/v1/things/bug")
        assert bug.status_code == 500
        assert "secret" not in bug.text
        assert bug.json()["title"] == "Internal server error"
