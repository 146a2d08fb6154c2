"""The dependencies every service shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared.dependencies import settings_dependency, state_dependency
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    greeting: str = "hola"


demo_settings = settings_dependency(DemoSettings)
DemoSettingsDep = Annotated[DemoSettings, Depends(demo_settings)]


def test_settings_dependency_returns_the_apps_settings_typed_as_the_services() -> None:
    app = FastAPI()
    app.state.settings = DemoSettings(service_name="demo", greeting="hello")

    @app.get("/greeting")
    def greeting(settings: DemoSettingsDep) -> dict[str, str]:
        return {"greeting": settings.greeting}

    with TestClient(app) as client:
        assert client.get("/greeting").json() == {"greeting": "hello"}


@dataclass
class DemoState:
    counter: int


@dataclass
class OtherState:
    name: str


demo_state = state_dependency(DemoState)
DemoStateDep = Annotated[DemoState, Depends(demo_state)]


def runtime_with(state: object | None) -> ServiceRuntime:
    return ServiceRuntime(
        settings=ServiceSettings(service_name="demo"),
        engine=None,  # type: ignore[arg-type]
        sessions=None,  # type: ignore[arg-type]
        tables=None,
        state=state,
    )


def test_state_dependency_returns_the_services_own_typed_state() -> None:
    app = FastAPI()
    app.state.runtime = runtime_with(DemoState(counter=3))

    @app.get("/counter")
    def counter(state: DemoStateDep) -> dict[str, int]:
        return {"counter": state.counter}

    with TestClient(app) as client:
        assert client.get("/counter").json() == {"counter": 3}


def test_a_state_of_another_kind_or_none_is_an_error_not_a_silent_lookup() -> None:
    with pytest.raises(RuntimeError, match="DemoState"):
        runtime_with(OtherState(name="x")).state_as(DemoState)
    with pytest.raises(RuntimeError, match="DemoState"):
        runtime_with(None).state_as(DemoState)
