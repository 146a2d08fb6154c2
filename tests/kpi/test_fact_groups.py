"""Two kpi deployments with their own databases on one Kafka cluster, each in its own fact
consumer group (`facts_group_id`): each folds every event into its own database. In one shared
group they split the partitions, and each database got only part of the facts (the cause of
the ideas test that failed when the package's app was running beside its own)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.kpi.alert_streams import MONDAY
from tests.kpi.audience_app import Kpi, as_key, eventually, interaction, kpi_service

pytestmark = pytest.mark.integration

READER = as_key("kpis:read")
POSTS = 40


async def interactions_folded(kpi: Kpi, brand: str) -> int:
    window = {"from": MONDAY.isoformat(), "to": (MONDAY + timedelta(days=1)).isoformat()}
    response = await kpi.get("/v1/kpis/summary", READER, brand_id=brand, **window)
    assert response.status_code == 200, response.text
    groups = response.json()["groups"]
    return int(groups[0]["kpis"]["interactions"]) if groups else 0


async def test_two_deployments_in_their_own_fact_groups_each_fold_every_event(
    postgres_url: str, kafka_bootstrap: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    # Both apps take the same partitions' records: no audience consumer to share them with.
    async with (
        kpi_service(
            postgres_url, kafka_bootstrap, facts_group_id=f"a-{suffix}", audience_enabled=False
        ) as first,
        kpi_service(
            postgres_url, kafka_bootstrap, facts_group_id=f"b-{suffix}", audience_enabled=False
        ) as second,
    ):
        brand = f"groups-{suffix}"
        # Each post its own thread, so its own key: they spread over every partition.
        await first.publish(
            [
                interaction(brand, f"post {index}", MONDAY, author=f"a{index}")
                for index in range(POSTS)
            ]
        )
        for kpi in (first, second):

            async def folded(kpi: Kpi = kpi) -> int:
                return await interactions_folded(kpi, brand)

            assert await eventually(folded, lambda count: count == POSTS) == POSTS
