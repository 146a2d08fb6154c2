"""Property: the buckets the PostgreSQL fold computes in SQL (`utc_bucket`, a bin of a minute,
an hour or a day from the Unix epoch) are the UTC minute, hour and day starts the Python side
computes (`bucket_start` of the moment in UTC: the rebuild, the SQLite fold, the summary's
reads), and date_trunc's in UTC, for any moment at any offset, before 1970 too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Interval, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.kpi.rollups.measures import Granularity, bucket_start
from services.kpi.rollups.repository import utc_bucket
from shared.db import UtcDateTime, create_engine

pytestmark = pytest.mark.integration

_UNITS = {Granularity.minute: "minute", Granularity.hour: "hour", Granularity.day: "day"}

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=offsets
)


@pytest.fixture
async def connection(postgres_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(postgres_url, schema="kpi")
    async with engine.connect() as connection:
        yield connection
    await engine.dispose()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moment=moments)
async def test_sql_buckets_are_the_utc_starts_python_computes(
    connection: AsyncConnection, moment: datetime
) -> None:
    at = literal(moment, UtcDateTime)
    row = (
        await connection.execute(
            select(
                *(
                    utc_bucket(literal(Granularity.STEP[granularity], Interval), at)
                    for granularity in Granularity.ALL
                ),
                *(
                    func.date_trunc(_UNITS[granularity], at, "UTC", type_=UtcDateTime)
                    for granularity in Granularity.ALL
                ),
            )
        )
    ).one()
    expected = tuple(
        bucket_start(moment.astimezone(UTC), granularity) for granularity in Granularity.ALL
    )
    assert tuple(row[:3]) == expected
    assert tuple(row[3:]) == expected
