"""Routing's Kafka handlers: interactions become cases, crisis alerts escalate them.

Thin: each hands the poll's envelopes to the case intake (`services/routing/cases/intake.py`)
or escalation, inside the consumer runner's transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.cases.escalation import escalate_crisis
from services.routing.cases.intake import CaseIntake
from services.routing.config import RoutingSettings
from services.routing.intents import IntentClassifier, get_classifier
from services.routing.intents.worker import ClassifierWorker
from services.routing.models import bus_tables
from shared.bus.consumer import BatchHandler
from shared.events.envelope import Envelope

INTAKE_GROUP = "routing-cases"
ALERTS_GROUP = "routing-alerts"


class ClassifierSource:
    """The intent model, loaded once on first use (consumers start before the app's start-up
    hook has loaded it for the API)."""

    def __init__(self, settings: RoutingSettings) -> None:
        self.settings = settings
        self._classifier: IntentClassifier | None = None

    def __call__(self) -> IntentClassifier:
        if self._classifier is None:
            self._classifier = get_classifier(self.settings.intent_model_path)
        return self._classifier


def build_intake(settings: RoutingSettings) -> CaseIntake:
    return CaseIntake(
        tables=bus_tables,
        classifier=ClassifierSource(settings),
        reopen_window=timedelta(hours=settings.case_reopen_window_hours),
        worker=ClassifierWorker(settings.intent_model_path) if settings.intent_worker else None,
    )


def intake_handlers(intake: CaseIntake) -> dict[str, BatchHandler]:
    # Received and updated are one batch handler each, in the poll's order of types; an update
    # that arrives before its received stands in for it.
    return {
        "interaction.received": intake.take_in,
        "interaction.updated": intake.take_in,
        "interaction.deleted": intake.take_deletions,
    }


def alert_handlers() -> dict[str, BatchHandler]:
    async def alerts(session: AsyncSession, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            await escalate_crisis(session, bus_tables, envelope)

    return {"alert.raised": alerts}
