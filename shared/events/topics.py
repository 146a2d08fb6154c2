"""Every Kafka topic of the suite, in one place (DESIGN.md, Events)."""

from __future__ import annotations

from typing import Final

INTERACTIONS: Final = "socialcare.interactions"
ENGAGEMENT: Final = "socialcare.engagement"
CASES: Final = "socialcare.cases"
REPLIES: Final = "socialcare.replies"
GUIDELINES: Final = "socialcare.guidelines"
ALERTS: Final = "socialcare.alerts"

PUBLIC_TOPICS: Final = (INTERACTIONS, ENGAGEMENT, CASES, REPLIES, GUIDELINES, ALERTS)
# Internal: signed webhook bodies accepted by ingest's web tier, processed by its workers.
INGEST_WEBHOOKS: Final = "socialcare.ingest.webhooks"
# Internal: replies routing hands to ingest to send (send.requested) and their outcomes
# (send.completed, send.failed), keyed by thread key (shared/events/sends.py).
SENDS: Final = "socialcare.sends"
INTERNAL_TOPICS: Final = (INGEST_WEBHOOKS, SENDS)
# Webhook bodies may reach 1 MiB; the broker's default record limit is 1 MB.
MAX_RECORD_BYTES: Final = 4 * 1024 * 1024
TOPIC_CONFIGS: Final = {INGEST_WEBHOOKS: {"max.message.bytes": str(MAX_RECORD_BYTES)}}
DLQ_SUFFIX: Final = ".dlq"


def dlq_topic(topic: str) -> str:
    """Where poison messages of `topic` go after the retry budget."""
    return f"{topic}{DLQ_SUFFIX}"


def all_topics() -> list[str]:
    """Public and internal topics and their dead-letter queues: what start-up creates."""
    topics = [*PUBLIC_TOPICS, *INTERNAL_TOPICS]
    return [*topics, *(dlq_topic(topic) for topic in topics)]
