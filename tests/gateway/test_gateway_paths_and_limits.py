"""Pure pieces of the gateway's defences: path checks, public webhook paths, bounded buckets."""

from __future__ import annotations

import pytest

from services.gateway.proxy import checked_path, public_webhook, resolve
from shared.errors import BadRequestError
from shared.rate_limit import RateLimiter


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/webhooks/meta/../../../metrics", b"/v1/webhooks/meta/../../../metrics"),
        ("/v1/webhooks/meta/../../../metrics", b"/v1/webhooks/meta/%2e%2e/%2e%2e/%2e%2e/metrics"),
        ("/v1/webhooks/meta/./x", b"/v1/webhooks/meta/./x"),
        ("/v1/webhooks/meta/a/b", b"/v1/webhooks/meta/a%2Fb"),
        ("/v1/webhooks/meta/%2e", b"/v1/webhooks/meta/%252e"),
        ("/v1/webhooks/meta/a\\b", b"/v1/webhooks/meta/a%5cb"),
        ("/v1/webhooks/meta/a\\b", b"/v1/webhooks/meta/a\\b"),
        ("/v1/webhooks/meta/\x01", b"/v1/webhooks/meta/%01"),
        ("/v1/interactions/a\nb", b"/v1/interactions/a%0Ab"),
    ],
)
def test_paths_that_could_name_another_resource_are_refused(path: str, raw: bytes) -> None:
    with pytest.raises(BadRequestError) as refused:
        checked_path(path, raw)
    assert refused.value.extra["field"] == "path"


def test_ordinary_paths_pass() -> None:
    for path in ("/v1/interactions", "/v1/cases/abc-1/replies", "/v1/webhooks/x/a.b..c"):
        assert checked_path(path, path.encode()) == path
    assert checked_path("/v1/guidelines/peña", b"/v1/guidelines/pe%C3%B1a") == "/v1/guidelines/peña"


def test_only_one_connection_id_under_a_webhook_prefix_is_public() -> None:
    assert public_webhook("/v1/webhooks/meta/abc") == "/v1/webhooks/meta/abc"
    assert public_webhook("/v1/webhooks/x/abc") == "/v1/webhooks/x/abc"
    for path in ("/v1/webhooks/meta/", "/v1/webhooks/meta/a/b", "/v1/webhooks/other/a"):
        assert public_webhook(path) is None
    assert resolve("/v1/webhooks/meta/abc").public
    assert not resolve("/v1/webhooks/meta/abc/connections").public


def test_buckets_are_bounded_and_eviction_never_makes_a_limit_stricter() -> None:
    limiter = RateLimiter(max_keys=100)
    assert limiter.acquire("victim", 1, now=0) is None
    assert limiter.acquire("victim", 1, now=0) == 60
    for index in range(1000):
        limiter.acquire(f"flood-{index}", 1, now=0)
    assert len(limiter) == 100
    assert limiter.acquire("victim", 1, now=0) is None  # evicted: a fresh bucket


def test_exhausted_takes_no_token() -> None:
    limiter = RateLimiter()
    assert limiter.exhausted("client", 2, now=0) is None
    assert limiter.acquire("client", 2, now=0) is None
    assert limiter.acquire("client", 2, now=0) is None
    assert limiter.exhausted("client", 2, now=0) == 30
    assert limiter.exhausted("client", 2, now=31) is None
    assert limiter.acquire("client", 2, now=31) is None
