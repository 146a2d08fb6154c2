"""SSRF: URLs resolving to loopback, private, link-local or metadata addresses are refused at
creation and again at every delivery (after DNS, connecting to the checked address), unless the
settings' allowlist admits them; redirects are never followed."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from services.webhooks.ssrf import Resolver, UrlError, parse_allowlist, refusal
from tests.webhooks.conftest import (
    MANAGER,
    Webhooks,
    envelope,
    new_brand,
    running_webhooks,
    sample_payload,
)
from tests.webhooks.receiver import Behaviour, Receiver

REFUSED = [
    ("http://127.0.0.1/hook", "loopback_address"),
    ("http://127.1.2.3:8080/hook", "loopback_address"),
    ("http://[::1]/hook", "loopback_address"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback_address"),
    ("http://localhost/hook", "loopback_address"),
    ("http://10.0.0.5/hook", "private_address"),
    ("http://172.16.3.4/hook", "private_address"),
    ("http://192.168.1.1/hook", "private_address"),
    ("http://[fd00::1]/hook", "private_address"),
    ("http://169.254.169.254/latest/meta-data/", "metadata_address"),
    ("http://[fd00:ec2::254]/", "metadata_address"),
    ("http://169.254.10.10/", "link_local_address"),
    ("http://[fe80::1]/", "link_local_address"),
    ("http://0.0.0.0/", "reserved_address"),
    ("http://224.0.0.1/", "reserved_address"),
    ("http://100.64.0.1/", "non_public_address"),
    ("http://2130706433/", "loopback_address"),  # 127.0.0.1 written as one number
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_resolver_refuses_non_public_addresses(url: str, reason: str) -> None:
    with pytest.raises(UrlError) as refused:
        await Resolver([]).target(url)
    assert refused.value.reason == reason


async def test_resolver_admits_public_addresses_and_the_allowlist() -> None:
    target = await Resolver([]).target("https://93.184.215.14:8443/hooks?x=1")
    assert target.connect_url() == "https://93.184.215.14:8443/hooks?x=1"
    assert target.host_header() == "93.184.215.14:8443"
    allowed = await Resolver(["127.0.0.0/8"]).target("http://localhost:9000/hook")
    assert allowed.address == "127.0.0.1"
    assert allowed.connect_url() == "http://127.0.0.1:9000/hook"
    assert allowed.host_header() == "localhost:9000"
    assert refusal(ipaddress.ip_address("10.1.2.3"), parse_allowlist(["10.1.0.0/16"])) is None


@pytest.mark.integration
async def test_creation_refuses_internal_urls_without_the_allowlist(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    async with running_webhooks(postgres_url, kafka_bootstrap, ssrf_allowlist=[]) as webhooks:
        for url, reason in [*REFUSED[:6], (receiver.at("/internal"), "loopback_address")]:
            response = await webhooks.create(url=url, event_types=["*"])
            assert response.status_code == 422, (url, response.text)
            assert response.json()["field"] == "url"
            assert response.json()["reason"] == reason, url


@pytest.mark.integration
async def test_every_delivery_is_checked_again(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    """An endpoint created while its address was allowed is refused once it no longer is: the
    attempt is logged as refused and the receiver never hears of it."""
    async with running_webhooks(postgres_url, kafka_bootstrap) as webhooks:
        endpoint_id, _ = await webhooks.endpoint(receiver.at("/rebound"), new_brand())
        database = webhooks.database
    async with running_webhooks(
        postgres_url, kafka_bootstrap, database=database, ssrf_allowlist=[]
    ) as webhooks:
        brand = (
            await webhooks.client.get(
                f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}", auth=MANAGER
            )
        ).json()["brand_ids"][0]
        await webhooks.publish(
            envelope("alert.raised", sample_payload("alert.raised", brand), brand)
        )

        async def refused() -> list[dict[str, object]] | None:
            items = await webhooks.deliveries(endpoint_id)
            return items if items and items[0]["last_error"] else None

        (delivery,) = await webhooks.wait_until(refused)
        assert delivery["last_error"] == "refused: loopback_address"
        assert delivery["last_status_code"] is None
    assert receiver.on("/rebound") == []


@pytest.mark.integration
async def test_redirects_are_not_followed(webhooks: Webhooks, receiver: Receiver) -> None:
    target = receiver.at("/redirect-target")
    endpoint_id, _ = await webhooks.endpoint(
        receiver.at("/redirecting", Behaviour(then=307, headers={"Location": target})),
        new_brand(),
    )
    response = await webhooks.client.post(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/ping", auth=MANAGER
    )
    assert response.json()["status_code"] == 307
    assert response.json()["succeeded"] is False
    await asyncio.sleep(0.3)
    assert len(receiver.on("/redirecting")) == 1
    assert receiver.on("/redirect-target") == []
