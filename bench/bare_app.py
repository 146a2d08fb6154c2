"""The baseline of bench/ingest.py: a bare FastAPI endpoint that returns `{}`."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/bare")
    async def bare() -> dict[str, str]:
        return {}

    return app
