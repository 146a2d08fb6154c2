"""One OpenAPI document for the whole public API, merged from every service's own."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
import structlog

logger = structlog.get_logger("socialcare.gateway")


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                "#/components/schemas/"
                + renames.get(value.rsplit("/", 1)[-1], value.rsplit("/", 1)[-1])
                if key == "$ref"
                and isinstance(value, str)
                and value.startswith("#/components/schemas/")
                else _rewrite_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _unique_operation_ids(item: dict[str, Any], service: str, taken: set[str]) -> dict[str, Any]:
    """Operation ids name a generated client's functions: one taken already gets the service's
    name in front (`kpi_list_alerts`), then a number if that is taken too."""
    for operation in item.values():
        if not isinstance(operation, dict) or "operationId" not in operation:
            continue
        wanted = operation["operationId"]
        candidate, number = wanted, 1
        while candidate in taken:
            number += 1
            candidate = f"{service}_{wanted}" if number == 2 else f"{service}_{wanted}_{number}"
        operation["operationId"] = candidate
        taken.add(candidate)
    return item


def merge_openapi(gateway: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merge `/v1` paths and schemas; a schema name two services define differently is prefixed,
    and so is an operation id another service already uses."""
    merged = copy.deepcopy(gateway)
    paths: dict[str, Any] = merged.setdefault("paths", {})
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    taken = {
        operation["operationId"]
        for item in paths.values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for service, document in sorted(services.items()):
        renames: dict[str, str] = {}
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{service}_{name}"
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            merged_schema = _rewrite_refs(schema, renames)
            if name in renames and "title" in merged_schema:
                # Generated clients name their models by title: two `BatchItem`s would clash.
                merged_schema["title"] = renames[name]
            schemas[renames.get(name, name)] = merged_schema
        for path, item in document.get("paths", {}).items():
            if path.startswith("/v1/"):
                paths[path] = _unique_operation_ids(_rewrite_refs(item, renames), service, taken)
    merged.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "socialcare API key"}
    }
    merged["security"] = [{"apiKey": []}]
    merged["paths"] = dict(sorted(paths.items()))
    return merged


class OpenApiAggregator:
    def __init__(
        self, upstreams: dict[str, str], client: httpx.AsyncClient, ttl_seconds: float
    ) -> None:
        self.upstreams = upstreams
        self.client = client
        self.ttl = ttl_seconds
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def document(self, gateway: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached is not None and self._cached[0] > now:
            return self._cached[1]

        async def fetch(service: str, base: str) -> tuple[str, dict[str, Any] | None]:
            try:
                response = await self.client.get(base + "/openapi.json", timeout=5)
                response.raise_for_status()
                document: dict[str, Any] = response.json()
                return service, document
            except (httpx.HTTPError, ValueError) as exc:
                logger.warning("openapi_unavailable", service=service, error=str(exc))
                return service, None

        results = await asyncio.gather(
            *(fetch(service, base) for service, base in self.upstreams.items())
        )
        documents = {service: doc for service, doc in results if doc is not None}
        merged = merge_openapi(gateway, documents)
        missing = sorted(set(self.upstreams) - set(documents))
        if missing:
            merged.setdefault("info", {})["x-unavailable-services"] = missing
        else:
            self._cached = (now + self.ttl, merged)
        return merged
