"""The one JSON parameter of the fold's bulk statements (shared/bulk.py): timestamps keep
their instant, naive ones are refused, text is written as it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.kpi.facts.repository import new_interactions_parameters
from services.kpi.facts.state import INTERACTION_COLUMNS, InteractionRow
from shared import bulk


def test_rows_keep_each_timestamps_instant_whatever_its_offset() -> None:
    madrid = timezone(timedelta(hours=1))
    moments = [
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 12, 1, 10, 30, 15, 250_000, tzinfo=madrid),
    ]
    decoded = json.loads(
        bulk.rows_json([[moment, "¿Dónde está mi pedido?", 3] for moment in moments])
    )
    assert [datetime.fromisoformat(row[0]) for row in decoded] == moments
    assert decoded[0][1:] == ["¿Dónde está mi pedido?", 3]


def test_a_naive_timestamp_is_refused_before_anything_is_written() -> None:
    row = InteractionRow(
        id="i-1", brand_id="b", channel="x", created_at=datetime(2026, 12, 1, 9, 30)
    )
    with pytest.raises(ValueError, match="naive"):
        new_interactions_parameters("postgresql", [row])


def test_interaction_rows_go_in_column_order() -> None:
    created = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    row = InteractionRow(id="i-2", brand_id="b", channel="x", lang="es", created_at=created)
    parameters = new_interactions_parameters("postgresql", [row])
    (decoded,) = json.loads(parameters[bulk.ROWS_PARAMETER])
    values = dict(zip(INTERACTION_COLUMNS, decoded, strict=True))
    assert values["id"] == "i-2"
    assert values["lang"] == "es"
    assert datetime.fromisoformat(values["created_at"]) == created
    assert values["deleted_at"] is None
