"""The gateway's merge of every service's OpenAPI document into the one public document."""

from __future__ import annotations

import copy
from typing import Any

from services.gateway.openapi import merge_openapi


def operation(operation_id: str, schema: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"operationId": operation_id, "responses": {"200": {}}}
    if schema is not None:
        body["responses"]["200"] = {
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        }
    return body


def document(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas or {}}}


GATEWAY = document(
    {"/v1/api-keys": {"post": operation("create_api_key", "ApiKey")}, "/healthz": {}},
    {"ApiKey": {"type": "object", "properties": {"id": {"type": "string"}}}},
)


def operation_ids(merged: dict[str, Any]) -> list[str]:
    return [
        op["operationId"]
        for item in merged["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]


def test_only_v1_paths_of_services_are_merged_sorted() -> None:
    ingest = document(
        {
            "/v1/interactions": {"get": operation("search_interactions")},
            "/healthz": {"get": operation("healthz")},
            "/metrics": {"get": operation("metrics")},
        }
    )
    kpi = document({"/v1/alerts": {"get": operation("list_alerts")}})
    merged = merge_openapi(GATEWAY, {"kpi": kpi, "ingest": ingest})
    assert list(merged["paths"]) == ["/healthz", "/v1/alerts", "/v1/api-keys", "/v1/interactions"]
    assert merged["paths"]["/healthz"] == {}  # the gateway's own, not a service's


def test_every_operation_needs_a_bearer_key() -> None:
    merged = merge_openapi(GATEWAY, {})
    assert merged["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "socialcare API key",
    }
    assert merged["security"] == [{"apiKey": []}]


def test_an_identical_schema_is_kept_once() -> None:
    shared = {"type": "string", "enum": ["x", "facebook"]}
    ingest = document({"/v1/a": {"get": operation("a", "Channel")}}, {"Channel": shared})
    kpi = document(
        {"/v1/b": {"get": operation("b", "Channel")}}, {"Channel": copy.deepcopy(shared)}
    )
    merged = merge_openapi(GATEWAY, {"ingest": ingest, "kpi": kpi})
    assert merged["components"]["schemas"]["Channel"] == shared
    assert not any(name.endswith("_Channel") for name in merged["components"]["schemas"])


def test_a_schema_name_two_services_define_differently_is_prefixed_and_refs_follow() -> None:
    ingest_page = {
        "title": "Page",
        "type": "object",
        "properties": {"items": {"$ref": "#/components/schemas/Item"}},
    }
    kpi_page = {"title": "Page", "type": "object", "properties": {"rows": {"type": "array"}}}
    ingest = document(
        {"/v1/interactions": {"get": operation("search_interactions", "Page")}},
        {"Page": ingest_page, "Item": {"type": "object"}},
    )
    kpi = document({"/v1/alerts": {"get": operation("list_alerts", "Page")}}, {"Page": kpi_page})
    merged = merge_openapi(GATEWAY, {"ingest": ingest, "kpi": kpi})
    schemas = merged["components"]["schemas"]
    assert schemas["Page"] == ingest_page  # the first service (by name) keeps the name
    # Renamed title too: generated clients name their models by title.
    assert schemas["kpi_Page"] == {**kpi_page, "title": "kpi_Page"}
    kpi_ref = merged["paths"]["/v1/alerts"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert kpi_ref == "#/components/schemas/kpi_Page"
    ingest_ref = merged["paths"]["/v1/interactions"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert ingest_ref == "#/components/schemas/Page"


def test_operation_ids_stay_unique_across_services() -> None:
    ingest = document(
        {
            "/v1/connections": {
                "get": operation("list_items"),
                "post": operation("create_api_key"),
            },
        }
    )
    kpi = document({"/v1/alerts": {"get": operation("list_items")}})
    webhooks = document({"/v1/webhook-endpoints": {"get": operation("list_items")}})
    merged = merge_openapi(GATEWAY, {"ingest": ingest, "kpi": kpi, "webhooks": webhooks})
    ids = operation_ids(merged)
    assert len(ids) == len(set(ids)), ids
    assert merged["paths"]["/v1/api-keys"]["post"]["operationId"] == "create_api_key"
    assert merged["paths"]["/v1/connections"]["post"]["operationId"] == "ingest_create_api_key"
    assert merged["paths"]["/v1/connections"]["get"]["operationId"] == "list_items"
    assert merged["paths"]["/v1/alerts"]["get"]["operationId"] == "kpi_list_items"
    assert merged["paths"]["/v1/webhook-endpoints"]["get"]["operationId"] == "webhooks_list_items"


def test_the_inputs_are_left_unchanged() -> None:
    gateway = copy.deepcopy(GATEWAY)
    kpi = document({"/v1/alerts": {"get": operation("create_api_key", "ApiKey")}}, {"ApiKey": {}})
    kpi_before = copy.deepcopy(kpi)
    merge_openapi(gateway, {"kpi": kpi})
    assert gateway == GATEWAY
    assert kpi == kpi_before
