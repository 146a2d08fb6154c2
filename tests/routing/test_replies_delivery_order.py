"""A reply's delivery state from WhatsApp's reports: the same end state whatever order the
reports arrive in and however often each comes (sent < delivered < read; failed ends it)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from services.routing.replies.models import Reply
from services.routing.replies.service import apply_delivery

BASE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REPORTS = [("sent", 1), ("delivered", 5), ("read", 60), ("delivered", 8), ("read", 90)]


def state_after(reports: list[tuple[str, int]]) -> tuple[object, ...]:
    reply = Reply(delivery_status="sent")
    for status, seconds in reports:
        apply_delivery(reply, status, BASE + timedelta(seconds=seconds))
    return reply.delivery_status, reply.delivered_at, reply.read_at


def test_every_order_of_the_reports_ends_in_the_same_state() -> None:
    expected = ("read", BASE + timedelta(seconds=5), BASE + timedelta(seconds=60))
    for order in itertools.permutations(REPORTS):
        assert state_after(list(order)) == expected, order


def test_failed_ends_it_whatever_came_before_or_after() -> None:
    for order in itertools.permutations([*REPORTS[:3], ("failed", 100)]):
        status, _, _ = state_after(list(order))
        assert status == "failed", order


def test_read_alone_implies_delivered() -> None:
    assert state_after([("read", 30)]) == (
        "read",
        BASE + timedelta(seconds=30),
        BASE + timedelta(seconds=30),
    )
