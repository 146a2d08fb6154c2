"""`python -m services.kpi.rebuild [--brand BRAND]`: recompute kpi's rollups from its facts
(`make kpi-rebuild`), with the service's database settings."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.kpi.config import settings
from services.kpi.rollups.rebuild import rebuild
from shared.db import create_engine, session_factory


async def main(brand_id: str | None) -> int:
    engine = create_engine(settings.database_url, schema=settings.schema_name)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await rebuild(session, brand_id)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brand", default=None, help="only this brand's rollups")
    arguments = parser.parse_args()
    facts = asyncio.run(main(arguments.brand))
    sys.stdout.write(f"rebuilt kpi rollups from {facts} facts\n")
