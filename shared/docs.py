"""`/docs` of every service: Swagger UI served from the project, never from a CDN.

The files are the npm package `swagger-ui-dist`, pinned and checksummed in
`shared/static/swagger-ui` (its README says how to move to another version), so the page works
in an air-gapped or locked-down deployment. FastAPI's own `/docs` would load them from a CDN.
The version is in the asset URLs, so browsers may cache them for good.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from shared.errors import NotFoundError

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
SWAGGER_UI_VERSION = (SWAGGER_UI / "VERSION").read_text(encoding="utf-8").strip()
# What the page loads, and only that: nothing else in the folder is served.
SWAGGER_UI_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def swagger_ui_router(*, title: str, openapi_url: str, docs_url: str = "/docs") -> APIRouter:
    """`docs_url` (Swagger UI over `openapi_url`) and its assets under `docs_url/assets/`."""
    assets = f"{docs_url}/assets/{SWAGGER_UI_VERSION}"
    router = APIRouter()

    @router.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )

    @router.get(f"{docs_url}/assets/{{version}}/{{name}}", include_in_schema=False)
    async def swagger_ui_asset(version: str, name: str) -> FileResponse:
        media_type = SWAGGER_UI_ASSETS.get(name)
        if version != SWAGGER_UI_VERSION or media_type is None:
            raise NotFoundError(f"no documentation asset {version}/{name}")
        return FileResponse(
            SWAGGER_UI / name,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    return router
