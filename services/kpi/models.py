"""Kpi tables, in the `kpi` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.bus.tables import define_bus_tables
from shared.db import service_metadata

SCHEMA = "kpi"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)

# The tables of each sub-domain, on this metadata (imported here so migrations see them all).
from services.kpi.alerts import models as alert_models  # noqa: E402
from services.kpi.facts import models as _fact_models  # noqa: E402, F401
from services.kpi.fans import models as fan_models  # noqa: E402
from services.kpi.goals import models as _goal_models  # noqa: E402, F401
from services.kpi.ideas import models as idea_models  # noqa: E402
from services.kpi.rollups import models as _rollup_models  # noqa: E402, F401

__all__ = ["SCHEMA", "Base", "alert_models", "bus_tables", "fan_models", "idea_models"]
