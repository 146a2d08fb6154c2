"""Webhooks tables, in the `webhooks` schema."""

from __future__ import annotations

from shared.bus.tables import define_bus_tables
from shared.db import make_base

SCHEMA = "webhooks"
Base = make_base(SCHEMA)
bus_tables = define_bus_tables(Base.metadata)
