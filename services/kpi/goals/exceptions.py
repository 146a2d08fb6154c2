"""Goal errors."""

from __future__ import annotations

from shared.errors import NotFoundError


class GoalNotFoundError(NotFoundError):
    title = "Goal not found"
