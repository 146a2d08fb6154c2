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
DLQ_SUFFIX: Final = ".dlq"


def dlq_topic(topic: str) -> str:
    """Where poison messages of `topic` go after the retry budget."""
    return f"{topic}{DLQ_SUFFIX}"


def all_topics() -> list[str]:
    """Public topics and their dead-letter queues: what start-up creates."""
    return [*PUBLIC_TOPICS, *(dlq_topic(topic) for topic in PUBLIC_TOPICS)]
