"""Topic creation at start-up (broker auto-creation is off, so a typo cannot create a topic)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

logger = structlog.get_logger("socialcare.bus")
TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    configs: dict[str, dict[str, str]] | None = None,
    attempts: int = 20,
) -> None:
    """Create missing topics; retry while the broker is still starting."""
    wanted = list(topics)
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [topic for topic in wanted if topic not in existing]
            if missing:
                response = await admin.create_topics(
                    [
                        NewTopic(
                            topic,
                            partitions,
                            replication_factor,
                            topic_configs=(configs or {}).get(topic),
                        )
                        for topic in missing
                    ]
                )
                for topic_error in response.topic_errors:
                    name, code = topic_error[0], topic_error[1]
                    if code not in (0, TOPIC_ALREADY_EXISTS):
                        raise RuntimeError(f"creating topic {name} failed with error code {code}")
                logger.info("topics_created", topics=missing)
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            logger.warning("topics_not_ready", attempt=attempt, error=str(exc))
            await asyncio.sleep(min(0.5 * attempt, 3.0))
        finally:
            await admin.close()


async def kafka_reachable(bootstrap: str) -> None:
    """Readiness probe: raise unless the broker answers a metadata request."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(admin.start(), 5)
        await asyncio.wait_for(admin.list_topics(), 5)
    finally:
        await admin.close()
