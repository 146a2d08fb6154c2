"""Endpoints API over real HTTP: creation (secret shown once), filters, brand limits, bad
input as 422 with the valid event types, rotation, the event type list."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.webhooks.filters import deliverable_types
from shared.db import create_engine
from tests.webhooks.conftest import ADMIN, MANAGER, Webhooks, as_key, new_brand
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.integration


async def test_create_shows_the_secret_once_and_lists_the_endpoint(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    response = await webhooks.create(
        url=receiver.at("/crm"),
        description="CRM / CRM",
        event_types=["case.*", "alert.raised", "case.opened"],
        brand_ids=[brand],
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) > 40
    assert created["event_types"] == ["case.*", "alert.raised", "case.opened"]
    assert created["enabled"] is True
    read = await webhooks.client.get(
        f"{webhooks.url}/v1/webhook-endpoints/{created['id']}", auth=MANAGER
    )
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = await webhooks.client.get(f"{webhooks.url}/v1/webhook-endpoints", auth=MANAGER)
    assert created["id"] in {item["id"] for item in listed.json()["items"]}

    changed = await webhooks.client.patch(
        f"{webhooks.url}/v1/webhook-endpoints/{created['id']}",
        json={
            "enabled": False,
            "event_types": ["reply.sent"] if "reply.sent" in deliverable_types() else ["alert.*"],
        },
        auth=MANAGER,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False
    assert changed.json()["disabled_reason"] == "manual"

    deleted = await webhooks.client.delete(
        f"{webhooks.url}/v1/webhook-endpoints/{created['id']}", auth=MANAGER
    )
    assert deleted.status_code == 204
    gone = await webhooks.client.get(
        f"{webhooks.url}/v1/webhook-endpoints/{created['id']}", auth=MANAGER
    )
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "invalid_url"),
        ("ftp://example.com/hook", "unsupported_scheme"),
        ("https://user:pw@example.com/hook", "credentials_in_url"),
        ("https:///nohost", "invalid_url"),
        ("https://example.com:99999/x", "invalid_url"),
    ],
)
async def test_invalid_url_is_422(webhooks: Webhooks, url: str, reason: str) -> None:
    response = await webhooks.create(url=url, event_types=["*"])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["field"] == "url"
    assert problem["reason"] == reason


@pytest.mark.parametrize("pattern", ["case.nope", "nothing.*", "ca*se.*", "", "endpoint.disabled"])
async def test_unknown_event_type_is_422_listing_the_valid_ones(
    webhooks: Webhooks, receiver: Receiver, pattern: str
) -> None:
    response = await webhooks.create(url=receiver.at("/x"), event_types=[pattern])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "event_types"
    assert problem["reason"] == "unknown_event_type"
    assert problem["valid_event_types"] == deliverable_types()
    assert "case.opened" in problem["valid_event_types"]


async def test_malformed_body_is_422_not_500(webhooks: Webhooks) -> None:
    bodies: list[dict[str, object]] = [
        {"url": "https://example.com"},
        {"url": 3, "event_types": "*"},
        {"event_types": []},
    ]
    for body in bodies:
        response = await webhooks.client.post(
            f"{webhooks.url}/v1/webhook-endpoints", json=body, auth=MANAGER
        )
        assert response.status_code == 422, (body, response.text)


async def test_scope_and_brand_limits(webhooks: Webhooks, receiver: Receiver) -> None:
    url = receiver.at("/limits")
    no_scope = await webhooks.create(as_key("cases:read"), url=url, event_types=["*"])
    assert no_scope.status_code == 403
    acme_only = as_key("webhooks:manage", key_id="acme-desk", brands={"acme"})
    other = await webhooks.create(acme_only, url=url, event_types=["*"], brand_ids=["globex"])
    assert other.status_code == 403
    assert other.json()["field"] == "brand_ids"
    mine = await webhooks.create(acme_only, url=url, event_types=["*"])
    assert mine.status_code == 201
    assert mine.json()["brand_ids"] == ["acme"]  # the key's brands when it names none
    everyone = await webhooks.create(ADMIN, url=url, event_types=["*"])
    assert everyone.status_code == 201
    seen = await webhooks.client.get(f"{webhooks.url}/v1/webhook-endpoints", auth=acme_only)
    ids = {item["id"] for item in seen.json()["items"]}
    assert mine.json()["id"] in ids
    assert everyone.json()["id"] not in ids  # every brand's endpoint is not this key's
    hidden = await webhooks.client.get(
        f"{webhooks.url}/v1/webhook-endpoints/{everyone.json()['id']}", auth=acme_only
    )
    assert hidden.status_code == 404


async def test_rotation_answers_a_new_secret_with_an_overlap(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    endpoint_id, secret = await webhooks.endpoint(receiver.at("/rotate-api"), new_brand())
    rotated = await webhooks.client.post(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        json={"overlap_seconds": 3600},
        auth=MANAGER,
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != secret
    assert rotated.json()["previous_secret_expires_at"] is not None


async def test_event_types_are_listed(webhooks: Webhooks) -> None:
    response = await webhooks.client.get(f"{webhooks.url}/v1/webhook-event-types", auth=MANAGER)
    assert response.status_code == 200
    types = [item["type"] for item in response.json()["items"]]
    assert types == deliverable_types()
    assert {"interaction.received", "engagement.recorded", "guideline.published"} <= set(types)
    assert {"case.opened", "case.resolved", "alert.raised", "alert.resolved"} <= set(types)
    assert "ingest.webhook_received" not in types  # internal topic
    assert "endpoint.disabled" not in types  # our own operator event


async def test_a_creation_retried_with_its_idempotency_key_gets_the_same_endpoint(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    body = {"url": receiver.at("/idempotent"), "event_types": ["case.*"], "brand_ids": [brand]}
    url = f"{webhooks.url}/v1/webhook-endpoints"
    headers = {"Idempotency-Key": f"create-{brand}"}
    first = await webhooks.client.post(url, json=body, headers=headers, auth=MANAGER)
    again = await webhooks.client.post(url, json=body, headers=headers, auth=MANAGER)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()  # the same id, and the secret shown again
    assert first.json()["secret"].startswith("whsec_")
    assert "idempotent-replay" not in first.headers
    assert again.headers["idempotent-replay"] == "true"
    listed = await webhooks.client.get(url, params={"limit": 200}, auth=MANAGER)
    mine = [item for item in listed.json()["items"] if item["brand_ids"] == [brand]]
    assert [item["id"] for item in mine] == [first.json()["id"]]
    # The stored answer keeps the secret sealed, as the endpoint row does.
    engine = create_engine(webhooks.database, schema="webhooks")
    try:
        async with engine.connect() as connection:
            stored = await connection.scalar(
                text("SELECT CAST(body AS TEXT) FROM webhooks.idempotent_responses WHERE key = :k"),
                {"k": headers["Idempotency-Key"]},
            )
    finally:
        await engine.dispose()
    assert stored is not None
    assert first.json()["secret"] not in stored
    # The same key for another request is a conflict; another key makes another endpoint.
    other = await webhooks.client.post(
        url, json={**body, "description": "otro / other"}, headers=headers, auth=MANAGER
    )
    assert other.status_code == 409, other.text
    assert other.headers["content-type"].startswith("application/problem+json")
    fresh = await webhooks.client.post(
        url, json=body, headers={"Idempotency-Key": f"again-{brand}"}, auth=MANAGER
    )
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]
