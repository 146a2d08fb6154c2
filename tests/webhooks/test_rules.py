"""Pure rules: the retry schedule, filters and visibility, signatures and bodies."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.webhooks.config import DEFAULT_RETRY_SCHEDULE
from services.webhooks.delivery.schedule import Decision, Verdict, decide, parse_retry_after
from services.webhooks.filters import (
    Audience,
    FilterError,
    audience_of,
    deliverable_types,
    matches,
    may_receive,
    validate_patterns,
)
from services.webhooks.signing import SecretBox, Signer, event_body, new_secret
from shared.auth import Principal
from shared.events.replies import ReplyEvent
from tests.webhooks.conftest import case_event

RNG = random.Random(7)


def attempt(status: int | None, made: int, retry_after: float | None = None) -> Decision:
    return decide(
        status_code=status,
        retry_after=retry_after,
        attempts_made=made,
        schedule=DEFAULT_RETRY_SCHEDULE,
        jitter=0.1,
        max_retry_after=36000.0,
        rng=RNG,
    )


def test_the_schedule_backs_off_with_jitter_then_gives_up() -> None:
    delays = []
    for made in range(1, len(DEFAULT_RETRY_SCHEDULE)):
        decision = attempt(500, made)
        assert decision.verdict is Verdict.retry
        assert decision.delay_seconds is not None
        delays.append(decision.delay_seconds)
    for delay, planned in zip(delays, DEFAULT_RETRY_SCHEDULE[1:], strict=True):
        assert planned * 0.9 <= delay <= planned * 1.1
    assert DEFAULT_RETRY_SCHEDULE == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert attempt(500, len(DEFAULT_RETRY_SCHEDULE)).verdict is Verdict.failed
    assert attempt(None, 1).verdict is Verdict.retry  # timeout
    assert attempt(204, 1).verdict is Verdict.succeeded
    assert attempt(301, 1).verdict is Verdict.retry  # not a 2xx
    assert attempt(410, 1).verdict is Verdict.gone


def test_retry_after_is_honoured_on_429_and_503_only() -> None:
    assert attempt(429, 1, retry_after=120).delay_seconds == 120
    assert attempt(503, 1, retry_after=99999).delay_seconds == 36000
    assert (attempt(500, 1, retry_after=120).delay_seconds or 0) < 10
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after("Tue, 01 Dec 2026 10:01:00 GMT", now) == 60
    assert parse_retry_after("soon", now) is None


def test_patterns_match_exact_prefix_and_everything() -> None:
    assert matches(["case.*"], "case.opened")
    assert not matches(["case.*"], "alert.raised")
    assert matches(["*"], "engagement.recorded")
    assert matches(["alert.raised"], "alert.raised")
    assert not matches(["alert.raised"], "alert.resolved")
    assert validate_patterns([" case.* ", "case.*", "alert.raised"]) == ["case.*", "alert.raised"]
    with pytest.raises(FilterError) as refused:
        validate_patterns(["reply.sent" if "reply.sent" not in deliverable_types() else "x.y"])
    assert refused.value.valid == deliverable_types()


def test_hr_visibility_follows_the_owner_key() -> None:
    unlimited = Principal(key_id="k")
    hr = Principal(key_id="k", departments=frozenset({"hr"}))
    admin = Principal(key_id="k", scopes=frozenset({"admin"}))
    acme = Principal(key_id="k", brands=frozenset({"acme"}))
    hr_case = audience_of("case.opened", "acme:x:1", case_event("acme", department="hr"))
    job = audience_of("case.opened", "acme:x:1", case_event("acme", intent="job_inquiry"))
    assert hr_case.department == job.department == "hr"
    for audience in (hr_case, job):
        assert not may_receive(unlimited, None, audience)
        assert may_receive(hr, None, audience)
        assert may_receive(admin, None, audience)
    hr_reply = audience_of(
        "reply.sent",
        "acme:x:1",
        ReplyEvent(
            reply_id="r1",
            case_id="c1",
            brand_id="acme",
            thread_key="acme:x:1",
            channel="x",
            department="hr",
            occurred_at=case_event("acme").occurred_at,
        ),
    )
    assert hr_reply.department == "hr"
    assert not may_receive(unlimited, None, hr_reply)
    assert may_receive(hr, None, hr_reply)
    care = audience_of("case.opened", "acme:x:1", case_event("acme"))
    assert may_receive(unlimited, None, care)
    assert not may_receive(hr, None, care)
    raw = Audience("acme", None, brand_wide_raw=True)
    assert may_receive(unlimited, None, raw)
    assert not may_receive(hr, None, raw)  # raw interactions may be HR's: whole-brand keys only
    globex = Audience("globex", None, brand_wide_raw=False)
    assert not may_receive(acme, None, globex)
    assert not may_receive(unlimited, frozenset({"acme"}), globex)


def test_signatures_verify_with_the_standardwebhooks_package() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    now = datetime.now(UTC)
    body = event_body("case.opened", now, b'{"case_id":"c1","text":"\\u00a1Hola! \xc3\xb1"}')
    assert json.loads(body)["data"]["case_id"] == "c1"
    headers = Signer(secret).headers("evt_1", now, body)
    assert Webhook(secret).verify(body, headers)["type"] == "case.opened"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    old = datetime.now(UTC) - timedelta(minutes=10)
    with pytest.raises(WebhookVerificationError):  # receivers refuse stale timestamps
        Webhook(secret).verify(body, Signer(secret).headers("evt_1", old, body))
    other = new_secret()
    both = Signer(other, secret).headers("evt_1", now, body)
    assert len(both["webhook-signature"].split(" ")) == 2
    assert Webhook(secret).verify(body, both)
    assert Webhook(other).verify(body, both)


def test_secrets_are_sealed_at_rest() -> None:
    box = SecretBox("key material")
    secret = new_secret()
    sealed = box.seal(secret)
    assert secret.encode() not in sealed
    assert box.open(sealed) == secret
