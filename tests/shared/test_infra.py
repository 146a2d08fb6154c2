"""The project's own local broker: `make run` keeps its data between runs, so a broker must start
again on a directory it formatted before, with its topics still there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from scripts.infra import KafkaBroker, free_port
from shared.bus.admin import ensure_topics

pytestmark = pytest.mark.integration


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_a_broker_restarts_on_its_kept_data(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path / "kafka", free_port(), free_port())
    broker.start()
    try:
        asyncio.run(ensure_topics(broker.bootstrap, ["kept.between.runs"], partitions=1))
        first_id = broker.existing_cluster_id()
        assert first_id
    finally:
        broker.stop()
    broker.start()  # formatted before: the same cluster id, not a new one
    try:
        assert broker.existing_cluster_id() == first_id
        assert "kept.between.runs" in asyncio.run(_topics(broker.bootstrap))
    finally:
        broker.stop()
