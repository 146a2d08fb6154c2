"""What the guidelines lifespan builds, reached through `dependencies.guidelines_state`."""

from __future__ import annotations

from dataclasses import dataclass

from services.guidelines.service import GuidelineCache


@dataclass
class GuidelinesState:
    cache: GuidelineCache
