"""What the routing lifespan builds, reached through `dependencies.routing_state`."""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.cases.scheduler import CaseScheduler
from services.routing.intents import IntentClassifier
from services.routing.replies.guidelines_client import GuidelinesClient


@dataclass
class RoutingState:
    intent_classifier: IntentClassifier
    scheduler: CaseScheduler | None = None
    guidelines: GuidelinesClient | None = None
