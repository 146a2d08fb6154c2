"""The registry of event types: every type on the topic DESIGN names, each payload round-trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.events import topics
from shared.events.alerts import AlertKind, AlertRaised
from shared.events.cases import CASE_EVENT_TYPES, CaseEvent, CaseStatus, Priority
from shared.events.interactions import (
    MAX_DISPLAY_NAME,
    MAX_HANDLE,
    Author,
    Channel,
    DeliveryStatus,
)
from shared.events.registry import EVENT_TYPES, model_for, topic_for

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_case_types_are_on_the_cases_topic_owned_by_routing() -> None:
    assert len(CASE_EVENT_TYPES) == 10
    for name in CASE_EVENT_TYPES:
        assert topic_for(name) == topics.CASES
        assert EVENT_TYPES[name].owner == "routing"
        assert model_for(name) is CaseEvent


def test_alert_types_are_on_the_alerts_topic_owned_by_kpi() -> None:
    assert topic_for("alert.raised") == topics.ALERTS
    assert EVENT_TYPES["alert.resolved"].owner == "kpi"


def test_every_registered_topic_is_created_at_start_up() -> None:
    # (Tests register their own types on throw-away topics: owner "tests".)
    suite = {event.topic for event in EVENT_TYPES.values() if event.owner != "tests"}
    assert suite <= set(topics.all_topics())


def test_case_event_round_trips_and_refuses_unknown_fields() -> None:
    event = CaseEvent(
        case_id="cas_1",
        brand_id="acme",
        thread_key="acme:x:123",
        channel="x",
        status=CaseStatus.open,
        priority=Priority.urgent,
        department="pr",
        intent="crisis",
        intent_confidence=0.91,
        first_inbound_at=NOW,
        last_inbound_at=NOW,
        opened_at=NOW,
        occurred_at=NOW,
    )
    assert CaseEvent.model_validate_json(event.model_dump_json()) == event
    with pytest.raises(ValidationError):
        CaseEvent.model_validate({**event.model_dump(), "surprise": 1})


def test_alert_payload_names_what_routing_matches_on() -> None:
    alert = AlertRaised(
        alert_id="alr_1",
        brand_id="acme",
        kind=AlertKind.crisis,
        title="Pico de menciones negativas / Negative mentions spike",
        keywords=["intoxicación"],
        window_start=NOW,
        window_end=NOW,
        raised_at=NOW,
    )
    assert AlertRaised.model_validate_json(alert.model_dump_json()).keywords == ["intoxicación"]


def test_delivery_status_watermark_is_optional_and_round_trips() -> None:
    # A report written before `watermark` and `account_external_id` existed still parses.
    old = DeliveryStatus.model_validate_json(
        '{"brand_id": "acme", "channel": "whatsapp", "external_id": "wamid.1",'
        ' "thread_external_id": "34600111222", "status": "read",'
        ' "occurred_at": "2026-12-01T10:00:00Z"}'
    )
    assert (old.watermark, old.account_external_id) == (None, None)
    report = DeliveryStatus(
        brand_id="acme",
        channel=Channel.messenger,
        external_id="watermark:3141592653589793:1795474000353",
        thread_external_id="3141592653589793",
        status="read",
        occurred_at=NOW,
        account_external_id="104857600012345",
        watermark=datetime(2026, 11, 23, 22, 46, 40, 353000, tzinfo=UTC),
    )
    assert DeliveryStatus.model_validate_json(report.model_dump_json()) == report
    assert model_for("interaction.delivery_status") is DeliveryStatus


def test_an_authors_handle_and_name_are_cut_to_what_the_services_store() -> None:
    author = Author.model_validate(
        {"handle": "@" + "x" * 400, "display_name": "María José " * 40, "external_id": "u-1"}
    )
    assert author.handle == ("@" + "x" * 400)[:MAX_HANDLE]
    assert author.display_name == ("María José " * 40)[:MAX_DISPLAY_NAME]
    assert Author(handle="@ana", display_name="Ana").model_dump()["handle"] == "@ana"
