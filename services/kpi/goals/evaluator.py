"""The loop that judges goals every `goal_evaluation_interval_seconds` (started by main)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi.goals import service

logger = structlog.get_logger("socialcare.kpi.goals")


async def run_goal_evaluator(
    sessions: async_sessionmaker[AsyncSession],
    interval_seconds: float,
    on_committed: Callable[[], None],
) -> None:
    while True:
        try:
            async with sessions() as session, session.begin():
                await service.evaluate_due(session, datetime.now(UTC))
            on_committed()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("goal_evaluation_failed", error=str(exc))
        await asyncio.sleep(interval_seconds)
