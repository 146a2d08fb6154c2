"""Builders of the events kpi consumes, in their contracts' shapes (tests of kpi only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.cases import CaseEvent, CaseStatus, Priority, SlaDeadlines, SlaKind
from shared.events.envelope import Envelope
from shared.events.guidelines import GuidelineCheckCompleted
from shared.events.interactions import (
    Author,
    EngagementRecorded,
    Flags,
    Interaction,
    InteractionDeleted,
    InteractionKind,
    Metrics,
    Sentiment,
    SentimentLabel,
)
from shared.events.replies import ReplyEvent


def thread(brand: str, channel: str, thread_id: str) -> str:
    return f"{brand}:{channel}:{thread_id}"


def interaction(
    event_id: str | None,
    *,
    brand: str,
    interaction_id: str,
    channel: str = "x",
    created_at: datetime,
    time: datetime,
    label: str | None = "neutral",
    score: float | None = 0.0,
    own: bool = False,
    lang: str | None = "es",
    thread_id: str = "t",
    text: str = "",
    event_type: str = "interaction.received",
    kind: InteractionKind = InteractionKind.comment,
    external_id: str | None = None,
    author: Author | None = None,
    likes: int | None = None,
    shares: int | None = None,
    source: str = "ingest",
) -> Envelope:
    """The one builder of interaction events; `event_id` None: a fresh one."""
    default_score = {"positive": 0.7, "neutral": 0.0, "negative": -0.7}
    data = Interaction(
        id=interaction_id,
        brand_id=brand,
        channel=channel,
        kind=kind,
        external_id=external_id or interaction_id,
        thread_external_id=thread_id,
        author=author or Author(external_id=f"author-{interaction_id}", followers=10),
        text=text,
        lang=lang,
        sentiment=Sentiment(
            label=SentimentLabel(label), score=score if score is not None else default_score[label]
        )
        if label
        else None,
        created_at=created_at,
        received_at=created_at,
        flags=Flags(own_message=own),
        metrics=Metrics(likes=likes, shares=shares),
    )
    identity: dict[str, Any] = {"id": event_id} if event_id is not None else {}
    return Envelope(
        type=event_type, source=source, key=data.thread_key, data=data, time=time, **identity
    )


def deletion(
    event_id: str, *, brand: str, interaction_id: str, channel: str = "x", at: datetime
) -> Envelope:
    data = InteractionDeleted(
        id=interaction_id,
        brand_id=brand,
        channel=channel,
        external_id=interaction_id,
        thread_external_id="t",
        deleted_at=at,
    )
    return Envelope(
        type="interaction.deleted",
        source="ingest",
        key=thread(brand, channel, "t"),
        data=data,
        id=event_id,
        time=at,
    )


def engagement(
    event_id: str,
    *,
    brand: str,
    channel: str = "instagram",
    at: datetime,
    likes: int | None = None,
    comments: int | None = None,
    shares: int | None = None,
    views: int | None = None,
    interaction_id: str | None = None,
    kind: str = "like",
) -> Envelope:
    data = EngagementRecorded(
        brand_id=brand,
        channel=channel,
        external_id=f"post-{event_id}",
        thread_external_id="post",
        interaction_id=interaction_id,
        kind=kind,
        delta=Metrics(likes=likes, comments=comments, shares=shares, views=views),
        occurred_at=at,
    )
    return Envelope(
        type="engagement.recorded",
        source="ingest",
        key=thread(brand, channel, "post"),
        data=data,
        id=event_id,
        time=at,
    )


def case(
    event_id: str | None,
    *,
    brand: str,
    case_id: str,
    event_type: str = "case.opened",
    channel: str = "x",
    department: str | None = "customer_service",
    assignee: str | None = None,
    intent: str | None = "complaint",
    first_inbound_at: datetime,
    opened_at: datetime,
    occurred_at: datetime,
    resolved_at: datetime | None = None,
    resolution_business_seconds: float | None = None,
    target_seconds: int | None = None,
    due_at: datetime | None = None,
    sla_kind: SlaKind | None = None,
    sentiment: str | None = None,
    status: CaseStatus | None = None,
    author: str | None = None,
    thread_id: str | None = None,
    source: str = "routing",
) -> Envelope:
    """The one builder of case events; `event_id` None: a fresh one."""
    data = CaseEvent(
        case_id=case_id,
        brand_id=brand,
        thread_key=thread(brand, channel, thread_id or case_id),
        channel=channel,
        status=status or (CaseStatus.resolved if resolved_at else CaseStatus.open),
        author_external_id=author,
        priority=Priority.normal,
        department=department,
        assignee_id=assignee,
        intent=intent,
        sentiment_label=SentimentLabel(sentiment) if sentiment else None,
        sla=SlaDeadlines(
            first_response_target_seconds=target_seconds, first_response_due_at=due_at
        ),
        first_inbound_at=first_inbound_at,
        last_inbound_at=first_inbound_at,
        opened_at=opened_at,
        resolved_at=resolved_at,
        resolution_business_seconds=resolution_business_seconds,
        sla_kind=sla_kind,
        occurred_at=occurred_at,
    )
    identity: dict[str, Any] = {"id": event_id} if event_id is not None else {}
    return Envelope(
        type=event_type,
        source=source,
        key=data.thread_key,
        data=data,
        time=occurred_at,
        **identity,
    )


def reply(
    event_id: str,
    *,
    brand: str,
    case_id: str,
    reply_id: str,
    channel: str = "x",
    department: str | None = "customer_service",
    author: str | None = "m-1",
    sent_at: datetime,
    answers_inbound_at: datetime | None = None,
    first_inbound_business_seconds: float | None = None,
    answers_inbound_business_seconds: float | None = None,
) -> Envelope:
    data = ReplyEvent(
        reply_id=reply_id,
        case_id=case_id,
        brand_id=brand,
        thread_key=thread(brand, channel, case_id),
        channel=channel,
        department=department,
        author_id=author,
        sent_at=sent_at,
        answers_inbound_at=answers_inbound_at,
        first_check_passed=True,
        occurred_at=sent_at,
        first_inbound_business_seconds=first_inbound_business_seconds,
        answers_inbound_business_seconds=answers_inbound_business_seconds,
    )
    return Envelope(
        type="reply.sent",
        source="routing",
        key=data.thread_key,
        data=data,
        id=event_id,
        time=sent_at,
    )


def check(
    event_id: str,
    *,
    brand: str,
    check_id: str,
    reply_id: str | None,
    passed: bool,
    at: datetime,
    channel: str | None = "x",
) -> Envelope:
    data = GuidelineCheckCompleted(
        check_id=check_id,
        brand_id=brand,
        guideline_version=1,
        channel=channel,
        lang="es",
        passed=passed,
        score=90.0 if passed else 40.0,
        violation_count=0 if passed else 2,
        error_count=0 if passed else 1,
        reply_id=reply_id,
        checked_at=at,
    )
    return Envelope(
        type="guideline.check_completed",
        source="guidelines",
        key=brand,
        data=data,
        id=event_id,
        time=at,
    )


def as_record(envelope: Envelope) -> dict[str, Any]:
    key, value, headers = envelope.to_kafka()
    return {"key": key, "value": value, "headers": headers}
