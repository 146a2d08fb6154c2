"""The periodic alert check (started by main): alerts resolve when their condition clears,
even if no event arrives to notice it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi.alerts import service
from services.kpi.alerts.detector import CrisisConfig

logger = structlog.get_logger("socialcare.kpi.alerts")


async def run_alert_checks(
    sessions: async_sessionmaker[AsyncSession],
    interval_seconds: float,
    config: CrisisConfig,
    on_committed: Callable[[], None],
) -> None:
    """Every `interval_seconds`: `service.resolve_cleared` at the current time."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            async with sessions() as session, session.begin():
                await service.resolve_cleared(session, datetime.now(UTC), config)
            on_committed()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("alert_check_failed", error=str(exc))
