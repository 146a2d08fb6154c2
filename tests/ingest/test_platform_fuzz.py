"""Property tests: no JSON body, however odd, makes a parser raise anything but PayloadError."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.platforms import (
    ParseResult,
    PayloadError,
    parse_meta_payload,
    parse_whatsapp_payload,
    parse_x_payload,
)
from services.ingest.platforms.base import ParsedItem

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "webhooks"
PARSERS: dict[str, Callable[[object], ParseResult]] = {
    "meta": parse_meta_payload,
    "whatsapp": parse_whatsapp_payload,
    "x": parse_x_payload,
}
CHANGES = {"received", "updated", "deleted", "engagement", "status"}
FUZZ_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    # Values the parsers look for, so fuzzing reaches past the first type check.
    | st.sampled_from(
        [
            "page",
            "instagram",
            "whatsapp_business_account",
            "feed",
            "comment",
            "add",
            "remove",
            "message_create",
            "post.mention.create",
            "dm.received",
            "text",
            "reaction",
            "1",
            "",
        ]
    )
)
json_keys = st.sampled_from(
    [
        "object",
        "entry",
        "changes",
        "messaging",
        "field",
        "value",
        "id",
        "time",
        "from",
        "message",
        "text",
        "item",
        "verb",
        "post_id",
        "comment_id",
        "sender",
        "recipient",
        "mid",
        "for_user_id",
        "tweet_create_events",
        "direct_message_events",
        "data",
        "event_type",
        "payload",
        "messages",
        "statuses",
        "type",
        "timestamp",
        "user",
        "users",
        "contacts",
    ]
) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=5)
    ),
    max_leaves=40,
)


def _fixture_bodies() -> list[tuple[str, Any]]:
    bodies: list[tuple[str, Any]] = []
    folders = [FIXTURES, *([SHARED_FIXTURES] if SHARED_FIXTURES.is_dir() else [])]
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            if "test_vector" in path.name:
                continue
            loaded = json.loads(path.read_text(encoding="utf-8"))
            for body in loaded if isinstance(loaded, list) else [loaded]:
                bodies.append((path.name, body))
    return bodies


FIXTURE_BODIES = _fixture_bodies()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a JSON value, the root excluded."""
    paths: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value))
        if isinstance(value, list)
        else []
    )
    for key, child in children:
        paths.append((*prefix, key))
        paths.extend(_paths(child, (*prefix, key)))
    return paths


def _assert_well_formed(item: ParsedItem) -> None:
    assert item.change in CHANGES
    assert isinstance(item.change_kind, str)
    assert item.change_kind
    assert isinstance(item.external_id, str)
    assert item.external_id
    assert isinstance(item.thread_external_id, str)
    assert item.thread_external_id
    assert item.created_at is None or item.created_at.utcoffset() is not None
    assert isinstance(item.text, str)
    assert isinstance(item.dedupe_key, str)
    if item.change in ("received", "updated"):
        assert item.kind is not None


def _parse_or_payload_error(parser: Callable[[object], ParseResult], body: object) -> int:
    """Parse, check every item; return how many items were checked."""
    try:
        result = parser(body)
    except PayloadError:
        # The only documented error, and only for a body that is not a JSON object.
        assert not isinstance(body, dict)
        return 0
    assert isinstance(body, dict)
    for item in result.items:
        _assert_well_formed(item)
    assert all(isinstance(label, str) and len(label) < 200 for label in result.unknown)
    return len(result.items)


@pytest.mark.parametrize("parser_name", sorted(PARSERS))
@FUZZ_SETTINGS
@given(body=json_values)
def test_arbitrary_json_never_raises_unexpectedly(parser_name: str, body: object) -> None:
    _parse_or_payload_error(PARSERS[parser_name], body)


@pytest.mark.parametrize("parser_name", sorted(PARSERS))
@FUZZ_SETTINGS
@given(
    platform_object=st.sampled_from(["page", "instagram", "whatsapp_business_account"]),
    entries=st.lists(st.dictionaries(json_keys, json_values, max_size=5) | json_values, max_size=3),
)
def test_meta_shaped_bodies_never_raise(
    parser_name: str, platform_object: str, entries: list[Any]
) -> None:
    _parse_or_payload_error(PARSERS[parser_name], {"object": platform_object, "entry": entries})


def test_mutated_fixtures_never_raise_and_still_yield_items() -> None:
    # Counted across every example: a fuzz whose parsers returned no items would check nothing.
    examples = 0
    with_items = 0

    @FUZZ_SETTINGS
    @given(data=st.data())
    def mutate_and_parse(data: st.DataObject) -> None:
        nonlocal examples, with_items
        _name, original = data.draw(st.sampled_from(FIXTURE_BODIES), label="fixture")
        body = copy.deepcopy(original)
        for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
            paths = _paths(body)
            if not paths:
                break
            path = data.draw(st.sampled_from(paths), label="path")
            parent = body
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(json_values, label="replacement")
        checked = sum(_parse_or_payload_error(parser, body) for parser in PARSERS.values())
        examples += 1
        with_items += checked > 0

    mutate_and_parse()
    assert examples >= 100
    # Many mutations leave some item parseable (measured: about one in two).
    assert with_items >= examples // 4, (with_items, examples)


# Bodies that carry nothing to ingest on purpose, and are not "unknown" either.
IGNORED_EVENT_TYPES = {"dm.read"}


@pytest.mark.parametrize(("name", "body"), FIXTURE_BODIES, ids=[name for name, _ in FIXTURE_BODIES])
def test_every_fixture_item_is_well_formed(name: str, body: Any) -> None:
    parser = parse_x_payload if name.startswith("x_") else parse_meta_payload

    result = parser(body)

    ignored = isinstance(body.get("data"), dict) and (
        body["data"].get("event_type") in IGNORED_EVENT_TYPES
    )
    assert result.items or result.unknown or ignored, f"{name}: nothing parsed, nothing reported"
    for item in result.items:
        _assert_well_formed(item)
