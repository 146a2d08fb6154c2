"""The signed internal principal header: what `decode_principal` refuses, whatever it holds."""

from __future__ import annotations

import time

import pytest

from shared.auth import (
    Principal,
    RequestBinding,
    body_digest,
    decode_principal,
    encode_principal,
    query_digest,
)
from shared.errors import UnauthorizedError

SECRET = "principal-test-secret"
PRINCIPAL = Principal(
    key_id="key-1",
    scopes=frozenset({"team:write"}),
    departments=frozenset({"customer_service"}),
    brands=frozenset({"acme"}),
)
BINDING = RequestBinding.of("ingest", "post", "/v1/connections", b"", b'{"brand_id":"acme"}')


def decode(header: str, *, now: float | None = None) -> tuple[Principal, RequestBinding]:
    return decode_principal(header, SECRET, max_age=30, max_skew=5, now=now)


def test_round_trip_carries_limits_and_the_request_it_was_issued_for() -> None:
    principal, binding = decode(encode_principal(PRINCIPAL, SECRET, BINDING))
    assert principal == PRINCIPAL
    assert binding == BINDING
    assert binding.method == "POST"
    assert binding.body == body_digest(b'{"brand_id":"acme"}')


def test_unlimited_key_stays_unlimited() -> None:
    principal, _ = decode(encode_principal(Principal(key_id="k"), SECRET, BINDING))
    assert principal.brands is None
    assert principal.allows_brand("any-brand")
    assert not PRINCIPAL.allows_brand("globex")


def test_member_binding_round_trips_and_cannot_be_swapped() -> None:
    bound = PRINCIPAL.model_copy(update={"member_id": "mem-ana", "member_brand_id": "acme"})
    header = encode_principal(bound, SECRET, BINDING)
    principal, _ = decode(header)
    assert principal.member_id == "mem-ana"
    assert principal.member_brand_id == "acme"
    unbound, _ = decode(encode_principal(PRINCIPAL, SECRET, BINDING))
    assert unbound.member_id is None
    # Another member's claims under this header's signature are refused.
    other = encode_principal(bound.model_copy(update={"member_id": "mem-luis"}), SECRET, BINDING)
    forged = ".".join([other.split(".")[0], *header.split(".")[1:]])
    with pytest.raises(UnauthorizedError):
        decode(forged)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-31, False), (-29, True), (0, True), (4, True), (6, False), (290, False)],
)
def test_window_is_short_and_future_times_are_refused(offset: int, accepted: bool) -> None:
    now = time.time()
    header = encode_principal(PRINCIPAL, SECRET, BINDING, now=now + offset)
    if accepted:
        decode(header, now=now)
    else:
        with pytest.raises(UnauthorizedError):
            decode(header, now=now)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "a.b",
        "a.b.c.d",
        "abc.12x.def",
        "abc.\u00b9\u00b2.def",  # superscript digits: str.isdigit() says yes, int() says no
        "ab\u00ff.123.def",  # a latin-1 byte, as Starlette decodes a non-ASCII header byte
        "abc.99999999999999999999999.def",
    ],
)
def test_malformed_headers_are_401_never_another_error(header: str) -> None:
    with pytest.raises(UnauthorizedError):
        decode(header)


def test_signed_garbage_payload_is_401() -> None:
    import base64
    import hashlib
    import hmac

    for payload in (b"[]", b"not json", b'{"v": 2}', b'{"key_id": 1}'):
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        timestamp = str(int(time.time()))
        signature = hmac.new(
            SECRET.encode(), f"{body}.{timestamp}".encode(), hashlib.sha256
        ).hexdigest()
        with pytest.raises(UnauthorizedError):
            decode(f"{body}.{timestamp}.{signature}")


def test_wrong_secret_is_401() -> None:
    header = encode_principal(PRINCIPAL, "another-secret", BINDING)
    with pytest.raises(UnauthorizedError):
        decode(header)


def test_query_digest_ignores_encoding_but_not_values() -> None:
    assert query_digest(b"b=2&a=1&a=3") == query_digest("a=1&b=2&a=3")
    assert query_digest(b"q=a+b") == query_digest(b"q=a%20b")
    assert query_digest(b"brand_id=acme") != query_digest(b"brand_id=globex")
    assert query_digest(b"a=1&a=3") != query_digest(b"a=3&a=1")
