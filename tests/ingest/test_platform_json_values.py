"""Readers of untrusted JSON values used by every platform parser."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.platforms import PayloadError, load_payload
from services.ingest.platforms.json_values import (
    as_count,
    as_id,
    parse_timestamp,
    unknown_label,
)

MOMENT = datetime(2026, 11, 23, 21, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1795468445,
        1795468445000,
        "1795468445",
        "1795468445000",
        1795468445.0,
        "2026-11-23T21:14:05+0000",
        "2026-11-23T21:14:05Z",
        "2026-11-23T22:14:05+01:00",
        "2026-11-23T21:14:05",
        "Mon Nov 23 21:14:05 +0000 2026",
    ],
)
def test_timestamps_in_every_platform_format(value: object) -> None:
    assert parse_timestamp(value) == MOMENT


@pytest.mark.parametrize(
    "value", [None, True, "", "yesterday", -5, math.nan, math.inf, 10**30, [], {}, "9" * 80]
)
def test_unreadable_timestamps_give_none(value: object) -> None:
    assert parse_timestamp(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("123", "123"), (123, "123"), ("  9_1  ", "9_1"), ("", None), (True, None), (1.5, None)],
)
def test_ids_from_strings_and_numbers(value: object, expected: str | None) -> None:
    assert as_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(3, 3), ("12", 12), (-1, None), ("-1", None), (False, None)]
)
def test_counts_are_non_negative(value: object, expected: int | None) -> None:
    assert as_count(value) == expected


def test_unknown_labels_are_bounded_and_metric_safe() -> None:
    label = unknown_label("page", "Feed Item!" + "x" * 100, None, 3)

    assert label == "page.feed_item_" + "x" * 22 + ".none.int"  # each part cut at 32
    assert unknown_label("x", "activity", "follow.follow") == "x.activity.follow.follow"


def test_load_payload_accepts_objects_only() -> None:
    assert load_payload(b'{"object": "page"}') == {"object": "page"}
    for body in (b"[]", b"null", b"not json", b"\xff\xfe", '"page"'):
        with pytest.raises(PayloadError):
            load_payload(body)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | st.text(max_size=200))
def test_load_payload_raises_only_payload_error(body: bytes | str) -> None:
    try:
        decoded = load_payload(body)
    except PayloadError:
        return
    assert isinstance(decoded, dict)
