"""Kpi tables, in the `kpi` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.bus.tables import define_bus_tables
from shared.db import service_metadata

SCHEMA = "kpi"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)

# The audience tables (fans, ideas, alerts) live with their domains; importing them here puts
# them in this metadata for the migrations.
from services.kpi.alerts import models as alert_models  # noqa: E402
from services.kpi.fans import models as fan_models  # noqa: E402
from services.kpi.ideas import models as idea_models  # noqa: E402

__all__ = ["SCHEMA", "Base", "alert_models", "bus_tables", "fan_models", "idea_models"]
