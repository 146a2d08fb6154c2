"""The dependencies every service shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared.dependencies import settings_dependency
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
