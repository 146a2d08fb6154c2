"""The kpi service tunes its interpreter once started (services/kpi/main.py `tune_interpreter`):
the fact consumer's fold rate depends on it, and bench/kpi.py measures the fold with it."""

from __future__ import annotations

import gc
import sys

import pytest

from services.kpi.main import GC_YOUNG_THRESHOLD
from shared.heap import SWITCH_INTERVAL_SECONDS
from tests.kpi.conftest import Kpi

pytestmark = pytest.mark.integration


async def test_a_started_service_collects_young_objects_rarely_and_switches_threads_often(
    kpi: Kpi,
) -> None:
    response = await kpi.client.get(f"{kpi.url}/healthz")
    assert response.status_code == 200
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_SECONDS)
    # Startup objects are frozen out of the collector's reach.
    assert gc.get_freeze_count() > 0
