"""Routing tables, in the `routing` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.bus.tables import define_bus_tables
from shared.db import service_metadata

SCHEMA = "routing"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)
