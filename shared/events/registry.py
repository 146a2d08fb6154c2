"""The registry of event types: `ce_type` → (topic, payload model), for the whole suite."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from shared.events import topics
from shared.events.alerts import AlertRaised, AlertResolved
from shared.events.cases import CASE_EVENT_TYPES, CaseEvent
from shared.events.guidelines import GuidelineCheckCompleted, GuidelinePublished
from shared.events.ingest import WebhookReceived
from shared.events.interactions import (
    DeliveryStatus,
    EngagementRecorded,
    Interaction,
    InteractionDeleted,
)
from shared.events.replies import REPLY_EVENT_TYPES, ReplyEvent
from shared.events.sends import SendCompleted, SendFailed, SendRequested
from shared.events.webhooks import EndpointDisabled


@dataclass(frozen=True)
class EventType:
    name: str
    topic: str
    model: type[BaseModel]
    owner: str


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in (
        EventType("interaction.received", topics.INTERACTIONS, Interaction, "ingest"),
        EventType("interaction.updated", topics.INTERACTIONS, Interaction, "ingest"),
        EventType("interaction.deleted", topics.INTERACTIONS, InteractionDeleted, "ingest"),
        EventType("interaction.delivery_status", topics.INTERACTIONS, DeliveryStatus, "ingest"),
        EventType("engagement.recorded", topics.ENGAGEMENT, EngagementRecorded, "ingest"),
        EventType("ingest.webhook_received", topics.INGEST_WEBHOOKS, WebhookReceived, "ingest"),
        EventType("send.requested", topics.SENDS, SendRequested, "routing"),
        EventType("send.completed", topics.SENDS, SendCompleted, "ingest"),
        EventType("send.failed", topics.SENDS, SendFailed, "ingest"),
        EventType("guideline.published", topics.GUIDELINES, GuidelinePublished, "guidelines"),
        EventType(
            "guideline.check_completed", topics.GUIDELINES, GuidelineCheckCompleted, "guidelines"
        ),
        *(EventType(name, topics.CASES, CaseEvent, "routing") for name in CASE_EVENT_TYPES),
        *(EventType(name, topics.REPLIES, ReplyEvent, "routing") for name in REPLY_EVENT_TYPES),
        EventType("alert.raised", topics.ALERTS, AlertRaised, "kpi"),
        EventType("alert.resolved", topics.ALERTS, AlertResolved, "kpi"),
        EventType("endpoint.disabled", topics.ALERTS, EndpointDisabled, "webhooks"),
    )
}


def register(event: EventType) -> None:
    """Add a type (tests and services still growing their contracts use this)."""
    existing = EVENT_TYPES.get(event.name)
    if existing is not None and existing != event:
        raise ValueError(f"event type {event.name} is already registered differently")
    EVENT_TYPES[event.name] = event


def model_for(event_type: str) -> type[BaseModel] | None:
    entry = EVENT_TYPES.get(event_type)
    return entry.model if entry else None


def topic_for(event_type: str) -> str:
    try:
        return EVENT_TYPES[event_type].topic
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}") from None
