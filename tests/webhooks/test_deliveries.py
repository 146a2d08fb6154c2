"""Deliveries end to end: events published on Kafka reach a real receiver on loopback, signed
so that the `standardwebhooks` package verifies them; retries keep the webhook-id; Retry-After,
410 and long failure; HR cases only to keys that may see HR; the delivery log, retry, replay,
rotation; one sleeping receiver does not slow the others."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from services.webhooks.filters import deliverable_types
from shared.events.topics import ALERTS
from tests.fixtures.services import read_events
from tests.webhooks.conftest import (
    MANAGER,
    Webhooks,
    as_key,
    case_event,
    envelope,
    new_brand,
    running_webhooks,
    sample_payload,
)
from tests.webhooks.receiver import Behaviour, Received, Receiver

pytestmark = pytest.mark.integration


async def test_every_event_type_is_delivered_and_verifies(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    _id, secret = await webhooks.endpoint(receiver.at("/all"), brand)
    types = deliverable_types()
    sent = [envelope(name, sample_payload(name, brand), f"{brand}:x:t1") for name in types]
    await webhooks.publish(*sent)
    received = await receiver.wait_for("/all", len(types))
    by_id = {item.webhook_id: item for item in received}
    assert set(by_id) == {event.id for event in sent}
    for event in sent:
        item = by_id[event.id]
        body = Webhook(secret).verify(item.body, item.headers)  # raises if not signed right
        assert body["type"] == event.type
        assert body["data"] == json.loads(event.data.model_dump_json())
        assert body["timestamp"].endswith("Z")
        assert item.headers["content-type"] == "application/json"
        assert abs(int(item.headers["webhook-timestamp"]) - time.time()) < 30
        assert item.headers["webhook-signature"].startswith("v1,")


async def test_filters_and_brands_choose_the_endpoints(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand, other = new_brand(), new_brand()
    await webhooks.endpoint(receiver.at("/cases"), brand, event_types=["case.*"])
    await webhooks.endpoint(receiver.at("/alerts"), brand, event_types=["alert.raised"])
    await webhooks.publish(
        envelope("case.opened", case_event(brand), f"{brand}:x:t1"),
        envelope("case.opened", case_event(other), f"{other}:x:t1"),  # another brand
        envelope("alert.raised", sample_payload("alert.raised", brand), brand),
        envelope("alert.resolved", sample_payload("alert.resolved", brand), brand),
        envelope("guideline.published", sample_payload("guideline.published", brand), brand),
    )
    cases = await receiver.wait_for("/cases", 1)
    alerts = await receiver.wait_for("/alerts", 1)
    await asyncio.sleep(1.0)  # nothing else arrives
    assert [json.loads(item.body)["data"]["brand_id"] for item in receiver.on("/cases")] == [brand]
    assert [json.loads(item.body)["type"] for item in receiver.on("/alerts")] == ["alert.raised"]
    assert len(cases) == len(alerts) == 1


async def test_hr_cases_go_only_to_keys_that_may_see_hr(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    hr_key = as_key("webhooks:manage", key_id="hr-desk", departments={"hr"})
    care_key = as_key("webhooks:manage", key_id="care-desk", departments={"customer_service"})
    await webhooks.endpoint(receiver.at("/hr"), brand, event_types=["case.*"], auth=hr_key)
    await webhooks.endpoint(receiver.at("/care"), brand, event_types=["case.*"], auth=care_key)
    await webhooks.endpoint(receiver.at("/brand-wide"), brand, event_types=["case.*"])
    hr_case = case_event(brand, department="hr", intent="employee_matter")
    job_case = case_event(brand, department="customer_service", intent="job_inquiry")
    care_case = case_event(brand, department="customer_service")
    await webhooks.publish(
        *(envelope("case.opened", case, f"{brand}:x:t1") for case in (hr_case, job_case, care_case))
    )
    hr = await receiver.wait_for("/hr", 2)
    care = await receiver.wait_for("/care", 1)
    wide = await receiver.wait_for("/brand-wide", 1)
    await asyncio.sleep(1.0)

    def case_ids(items: list[Received]) -> set[str]:
        return {json.loads(item.body)["data"]["case_id"] for item in items}

    assert case_ids(receiver.on("/hr")) == {hr_case.case_id, job_case.case_id}
    # A key without a department limit sees every department but HR.
    assert case_ids(receiver.on("/care")) == case_ids(care) == {care_case.case_id}
    assert case_ids(receiver.on("/brand-wide")) == case_ids(wide) == {care_case.case_id}
    assert len(hr) == 2


async def test_a_failing_receiver_gets_the_event_once_it_recovers_with_the_same_id(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    path = "/flaky"
    endpoint_id, secret = await webhooks.endpoint(
        receiver.at(path, Behaviour(statuses=[500, 502, 0])), brand
    )
    receiver.behaviours[path].statuses = [500, 502, 404]
    event = envelope("case.opened", case_event(brand), f"{brand}:x:t1")
    await webhooks.publish(event)
    attempts = await receiver.wait_for(path, 4)
    assert {item.webhook_id for item in attempts} == {event.id}
    assert all(item.verifies_with(secret) for item in attempts)
    # Backoff: each retry waits longer than the one before (schedule 0, 0.2, 0.4, 0.6 s).
    gaps = [later.at - earlier.at for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.15, gaps
    assert gaps[1] >= 0.35, gaps
    assert gaps[2] >= 0.55, gaps

    async def succeeded() -> list[dict[str, Any]]:
        items = await webhooks.deliveries(endpoint_id)
        return [item for item in items if item["status"] == "succeeded"]

    (delivery,) = await webhooks.wait_until(succeeded)
    assert delivery["event_id"] == event.id
    detail = await webhooks.client.get(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery['id']}",
        auth=MANAGER,
    )
    log = detail.json()["attempts"]
    assert [attempt["status_code"] for attempt in log] == [200, 404, 502, 500]  # newest first
    assert [attempt["succeeded"] for attempt in log] == [True, False, False, False]
    assert log[0]["response_excerpt"] == "status 200"
    assert all(attempt["latency_ms"] >= 0 for attempt in log)


async def test_retry_after_is_honoured(webhooks: Webhooks, receiver: Receiver) -> None:
    brand = new_brand()
    path = "/busy"
    await webhooks.endpoint(
        receiver.at(path, Behaviour(statuses=[429], headers={"Retry-After": "2"})), brand
    )
    await webhooks.publish(envelope("alert.raised", sample_payload("alert.raised", brand), brand))
    first, second = await receiver.wait_for(path, 2)
    # The schedule alone would retry after 0.2 s.
    assert second.at - first.at >= 1.9
    assert first.webhook_id == second.webhook_id


async def test_410_disables_the_endpoint_with_an_event(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    path = "/gone"
    endpoint_id, _secret = await webhooks.endpoint(receiver.at(path, Behaviour(then=410)), brand)
    await webhooks.publish(envelope("alert.raised", sample_payload("alert.raised", brand), brand))
    await receiver.wait_for(path, 1)

    async def disabled() -> dict[str, Any] | None:
        response = await webhooks.client.get(
            f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}", auth=MANAGER
        )
        body: dict[str, Any] = response.json()
        return body if not body["enabled"] else None

    endpoint = await webhooks.wait_until(disabled)
    assert endpoint["disabled_reason"] == "gone"
    (event,) = await read_events(
        webhooks.bootstrap, ALERTS, lambda e: e.type == "endpoint.disabled", 1, key=endpoint_id
    )
    assert event.data.model_dump()["reason"] == "gone"
    await webhooks.publish(envelope("alert.raised", sample_payload("alert.raised", brand), brand))
    await asyncio.sleep(1.0)
    assert len(receiver.on(path)) == 1  # nothing more goes to a disabled endpoint


async def test_an_endpoint_failing_for_the_whole_period_is_disabled(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    # The period is 5 days in production; 1 s here.
    async with running_webhooks(
        postgres_url, kafka_bootstrap, disable_after_failing_seconds=1.0
    ) as webhooks:
        brand = new_brand()
        path = "/down"
        endpoint_id, _ = await webhooks.endpoint(receiver.at(path, Behaviour(then=500)), brand)
        await webhooks.publish(envelope("case.opened", case_event(brand), f"{brand}:x:t1"))
        (event,) = await read_events(
            kafka_bootstrap, ALERTS, lambda e: e.type == "endpoint.disabled", 1, key=endpoint_id
        )
        data = event.data.model_dump()
        assert data["reason"] == "failing"
        assert data["failing_since"] is not None
        assert data["url"].endswith(path)
        response = await webhooks.client.get(
            f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}", auth=MANAGER
        )
        assert response.json()["enabled"] is False
        assert response.json()["disabled_reason"] == "failing"
        # Enabled again, its pending delivery resumes.
        receiver.behaviours[path].then = 200
        count = len(receiver.on(path))
        await webhooks.client.patch(
            f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}",
            json={"enabled": True},
            auth=MANAGER,
        )
        await receiver.wait_for(path, count + 1)


async def test_a_sleeping_receiver_does_not_slow_the_others(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    async with running_webhooks(
        postgres_url, kafka_bootstrap, max_in_flight_per_endpoint=4, request_timeout_seconds=20
    ) as webhooks:
        brand = new_brand()
        await webhooks.endpoint(receiver.at("/asleep", Behaviour(delay=15.0)), brand)
        fast = [f"/awake-{index}" for index in range(3)]
        for path in fast:
            await webhooks.endpoint(receiver.at(path), brand)
        events = [
            envelope("case.updated", case_event(brand), f"{brand}:x:t{index}")
            for index in range(15)
        ]
        began = time.monotonic()
        await webhooks.publish(*events)
        for path in fast:
            await receiver.wait_for(path, len(events), within=12)
        # Every awake receiver got every event while the sleeping one still holds its first
        # four (its own bound): nothing queued behind it.
        assert time.monotonic() - began < 12
        asleep = receiver.on("/asleep")
        assert len(asleep) == 4
        assert all(item.at - began < 12 for item in receiver.on(fast[0]))


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    path = "/rotating"
    endpoint_id, old = await webhooks.endpoint(receiver.at(path), brand)
    rotated = await webhooks.client.post(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        json={"overlap_seconds": 2},
        auth=MANAGER,
    )
    new = rotated.json()["secret"]
    await webhooks.publish(envelope("alert.raised", sample_payload("alert.raised", brand), brand))
    (during,) = await receiver.wait_for(path, 1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verifies_with(old)
    assert during.verifies_with(new)
    await asyncio.sleep(2.5)  # the overlap ends
    await webhooks.publish(envelope("alert.raised", sample_payload("alert.raised", brand), brand))
    _during, after = await receiver.wait_for(path, 2)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.verifies_with(new)
    assert not after.verifies_with(old)


async def test_retry_and_replay_send_again_with_the_same_id(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    path = "/replayed"
    began = datetime.now(UTC) - timedelta(seconds=1)
    endpoint_id, secret = await webhooks.endpoint(receiver.at(path), brand, event_types=["case.*"])
    events = [
        envelope("case.opened", case_event(brand), f"{brand}:x:t{index}") for index in range(3)
    ]
    await webhooks.publish(*events)
    await receiver.wait_for(path, 3)

    async def all_succeeded() -> list[dict[str, Any]] | None:
        items = await webhooks.deliveries(endpoint_id, status="succeeded")
        return items if len(items) == 3 else None

    deliveries = await webhooks.wait_until(all_succeeded)
    retried = await webhooks.client.post(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/deliveries/{deliveries[0]['id']}/retry",
        auth=MANAGER,
    )
    assert retried.status_code == 202, retried.text
    fourth = (await receiver.wait_for(path, 4))[3]
    assert fourth.webhook_id == deliveries[0]["event_id"]
    assert fourth.verifies_with(secret)

    async def replay(since: datetime, until: datetime) -> int:
        response = await webhooks.client.post(
            f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/replay",
            json={"since": since.isoformat(), "until": until.isoformat()},
            auth=MANAGER,
        )
        assert response.status_code == 202, response.text
        scheduled: int = response.json()["scheduled"]
        return scheduled

    # The range is of the events' own times.
    assert await replay(began - timedelta(hours=2), began - timedelta(hours=1)) == 0
    assert await replay(began, datetime.now(UTC) + timedelta(seconds=5)) == 3
    again = (await receiver.wait_for(path, 7))[4:]
    assert {item.webhook_id for item in again} == {event.id for event in events}
    bad = await webhooks.client.post(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/replay",
        json={"since": "2026-12-01T10:00:00", "until": "2026-12-01T09:00:00Z"},
        auth=MANAGER,
    )
    assert bad.status_code == 422


async def test_ping_sends_a_signed_ping(webhooks: Webhooks, receiver: Receiver) -> None:
    endpoint_id, secret = await webhooks.endpoint(receiver.at("/ping"), new_brand())
    response = await webhooks.client.post(
        f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}/ping", auth=MANAGER
    )
    assert response.status_code == 200, response.text
    assert response.json()["succeeded"] is True
    (ping,) = receiver.on("/ping")
    assert Webhook(secret).verify(ping.body, ping.headers)["type"] == "webhook.ping"


async def test_a_retry_or_replay_repeated_with_its_idempotency_key_sends_once_more(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    brand = new_brand()
    path = "/retried-once"
    began = datetime.now(UTC) - timedelta(seconds=1)
    endpoint_id, _secret = await webhooks.endpoint(receiver.at(path), brand, event_types=["case.*"])
    event = envelope("case.opened", case_event(brand), f"{brand}:x:t1")
    await webhooks.publish(event)
    await receiver.wait_for(path, 1)

    async def succeeded() -> list[dict[str, Any]] | None:
        items = await webhooks.deliveries(endpoint_id, status="succeeded")
        return items or None

    (delivery,) = await webhooks.wait_until(succeeded)
    base = f"{webhooks.url}/v1/webhook-endpoints/{endpoint_id}"
    retry = f"{base}/deliveries/{delivery['id']}/retry"
    answers = [
        await webhooks.client.post(retry, headers={"Idempotency-Key": "retry-1"}, auth=MANAGER)
        for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [202, 202]
    assert answers[1].headers["idempotent-replay"] == "true"
    await receiver.wait_for(path, 2)
    await webhooks.wait_until(succeeded)
    window = {
        "since": began.isoformat(),
        "until": (datetime.now(UTC) + timedelta(seconds=5)).isoformat(),
    }
    replays = [
        await webhooks.client.post(
            f"{base}/replay", json=window, headers={"Idempotency-Key": "replay-1"}, auth=MANAGER
        )
        for _ in range(2)
    ]
    assert [answer.json()["scheduled"] for answer in replays] == [1, 1]
    assert replays[1].headers["idempotent-replay"] == "true"
    await receiver.wait_for(path, 3)
    await asyncio.sleep(1.5)  # nothing more comes
    assert [item.webhook_id for item in receiver.on(path)] == [event.id] * 3


async def test_a_replica_limit_on_attempts_per_second_spreads_them(
    postgres_url: str, kafka_bootstrap: str, receiver: Receiver
) -> None:
    async with running_webhooks(
        postgres_url, kafka_bootstrap, max_attempts_per_second=5
    ) as webhooks:
        brand = new_brand()
        path = "/replica-limited"
        await webhooks.endpoint(receiver.at(path), brand)
        events = [
            envelope("case.updated", case_event(brand), f"{brand}:x:t{index}")
            for index in range(25)
        ]
        await webhooks.publish(*events)
        received = await receiver.wait_for(path, len(events))
    # 25 at 5 a second start in five seconds of the replica's clock, the first and the last
    # more than three seconds apart; as they reach the receiver, the first one's latency (a new
    # connection on a busy host) may take some of that, never two seconds. Unlimited, the 25
    # arrive within a fraction of a second.
    assert received[-1].at - received[0].at >= 2.0
    assert {item.webhook_id for item in received} == {event.id for event in events}
