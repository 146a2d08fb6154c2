"""Platform values that cannot be stored or believed are dropped, not published as they came:
counts past 64 bits, times outside 2000..now+1 day, U+0000 and lone surrogates in text."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.ingest.platforms import parse_meta_payload, parse_x_payload
from services.ingest.platforms.json_values import as_count, as_id, as_text, parse_timestamp

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


@pytest.mark.parametrize("value", [10**36, 2**63, -1, "99999999999999999999", "١٢٣"])
def test_counts_outside_signed_64_bits_are_unknown(value: object) -> None:
    assert as_count(value) is None


def test_the_largest_64_bit_count_is_kept() -> None:
    assert as_count(2**63 - 1) == 2**63 - 1


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
        0,
        253402300799,
        (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    ],
)
def test_implausible_platform_times_are_unknown(value: object) -> None:
    assert parse_timestamp(value) is None


def test_plausible_platform_times_are_read() -> None:
    assert parse_timestamp("2026-11-23T21:40:00.000Z") == datetime(2026, 11, 23, 21, 40, tzinfo=UTC)
    assert parse_timestamp(946684800) == datetime(2000, 1, 1, tzinfo=UTC)


def test_text_and_ids_lose_nul_and_lone_surrogates() -> None:
    assert as_text("ho\x00la") == "hola"
    assert as_text("a\ud800b") == "a\ufffdb"
    assert as_text("emoji \U0001f621") == "emoji \U0001f621"
    assert as_id("12\x003") == "123"
    assert as_id("\x00") is None


def test_a_hostile_x_post_is_parsed_into_storable_values() -> None:
    payload = copy.deepcopy(_load("x_activity_mention.json"))
    post = payload["data"]["payload"]
    post["public_metrics"]["like_count"] = 10**36
    post["created_at"] = "9999-12-31T23:59:59.000Z"
    post["text"] = "hola\x00 mundo"
    post["id"] = "1992200000000000001\x00"
    (item,) = parse_x_payload(payload).items
    assert item.metrics.likes is None
    assert item.metrics.comments == 0
    assert item.created_at is None  # the pipeline falls back to received_at
    assert "\x00" not in item.text
    assert "\x00" not in item.external_id


def test_a_meta_comment_from_year_one_has_no_platform_time() -> None:
    payload = copy.deepcopy(_load("meta_feed_comment_reply_es.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["created_time"] = "0001-01-01T00:00:00+0000"
    payload["entry"][0]["time"] = 253402300799  # the entry's time, the fallback: year 9999
    value["message"] = "mal\x00 servicio"
    (item,) = parse_meta_payload(payload).items
    assert item.created_at is None
    assert item.text == "mal servicio"
