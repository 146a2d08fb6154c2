"""Alembic per service, each in its own schema; run as a step of its own (`make migrate`, a
Kubernetes Job in production), never implicitly in a request.

    python -m shared.migrations upgrade ingest routing ...   # head of every named service
    python -m shared.migrations upgrade --all
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import create_engine, is_sqlite
from shared.observability import configure_logging

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("gateway", "ingest", "routing", "guidelines", "kpi", "webhooks")


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    config.attributes["service"] = service
    return config


def context_options(metadata: MetaData, schema: str, sqlite: bool) -> dict[str, Any]:
    """How every service's migrations (and the drift test's autogenerate) see the database."""
    return {
        "target_metadata": metadata,
        "version_table": "alembic_version",
        "version_table_schema": None if sqlite else schema,
        "include_schemas": not sqlite,
        # Autogenerate looks at this service's schema only, never at its neighbours'.
        "include_name": lambda name, type_, _parent: type_ != "schema" or name == schema,
        "render_as_batch": sqlite,
        "compare_type": True,
    }


def run_env(metadata: MetaData, schema: str) -> None:
    """Body of every service's `migrations/env.py` (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    sqlite = is_sqlite(url)

    def run(connection: Connection) -> None:
        if not sqlite:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(connection=connection, **context_options(metadata, schema, sqlite))
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_engine(url, schema=schema)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(main())


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def database_url_for(service: str) -> str:
    settings_module = importlib.import_module(f"services.{service}.config")
    url: str = settings_module.settings.database_url
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description="Run each service's Alembic migrations")
    parser.add_argument("action", choices=["upgrade", "revision"])
    parser.add_argument("-m", "--message", help="revision message (with revision)")
    parser.add_argument("services", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--database-url", help="override every service's configured URL")
    args = parser.parse_args()
    configure_logging("migrations")
    services = list(SERVICES) if args.all or not args.services else args.services
    if args.action == "revision":
        # Autogenerate against a database already at head (a throwaway PostgreSQL).
        for service in services:
            config = alembic_config(service, args.database_url or database_url_for(service))
            command.upgrade(config, "head")
            command.revision(config, message=args.message or "change", autogenerate=True)
        return 0
    for service in services:
        url = args.database_url or database_url_for(service)
        upgrade(service, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
