"""Signature checks of Meta and X webhooks against published/computed test vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from services.ingest.platforms.signatures import (
    meta_signature,
    meta_verification_challenge,
    verify_meta_signature,
    verify_x_signature,
    x_crc_response_token,
    x_signature,
)

SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "webhooks"
needs_shared = pytest.mark.skipif(
    not SHARED_FIXTURES.is_dir(), reason="shared fixtures folder is not available"
)

# Independent of the shared folder: a body and a secret of our own.
BODY = json.dumps(
    {"object": "page", "entry": [{"id": "1", "changes": []}]}, ensure_ascii=False
).encode("utf-8")
SECRET = "s3cr3t-app-secret"


def _shared_vector(name: str) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads((SHARED_FIXTURES / name).read_text(encoding="utf-8"))
    return vector


@needs_shared
def test_meta_signature_matches_the_shared_vector() -> None:
    vector = _shared_vector("meta_signature_test_vector.json")
    body = vector["raw_body"].encode("utf-8")
    header = vector["header"]["X-Hub-Signature-256"]

    assert meta_signature(body, vector["app_secret"]) == header
    assert verify_meta_signature(body, header, [vector["app_secret"]])


@needs_shared
def test_meta_signature_vector_refuses_tampering_and_other_secrets() -> None:
    vector = _shared_vector("meta_signature_test_vector.json")
    body = vector["raw_body"].encode("utf-8")
    header = vector["header"]["X-Hub-Signature-256"]

    assert not verify_meta_signature(body.replace(b"next", b"last"), header, vector["app_secret"])
    assert not verify_meta_signature(body, header, "another_secret")
    assert not verify_meta_signature(body, header.removeprefix("sha256="), vector["app_secret"])


def test_meta_signature_is_lowercase_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()

    assert meta_signature(BODY, SECRET) == expected
    assert verify_meta_signature(BODY, expected, SECRET)
    # Hex is case-insensitive; a proxy that upper-cases it must not break verification.
    assert verify_meta_signature(BODY, "sha256=" + expected[7:].upper(), SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + hashlib.sha1(BODY).hexdigest(),
        "sha256=" + "0" * 64,
        "sha256=nothex-é",
        hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(),  # missing prefix
    ],
)
def test_meta_signature_refuses_malformed_or_wrong_headers(header: str | None) -> None:
    assert not verify_meta_signature(BODY, header, SECRET)


def test_meta_signature_accepts_old_and_new_secret_during_rotation() -> None:
    signed_with_old = meta_signature(BODY, "old-secret")
    signed_with_new = meta_signature(BODY, "new-secret")
    rotation = ["new-secret", "old-secret"]

    assert verify_meta_signature(BODY, signed_with_old, rotation)
    assert verify_meta_signature(BODY, signed_with_new, rotation)
    assert not verify_meta_signature(BODY, signed_with_old, ["new-secret"])
    assert not verify_meta_signature(BODY, meta_signature(BODY, "stranger"), rotation)


def test_meta_signature_never_accepts_an_empty_secret_or_no_secrets() -> None:
    empty_key_signature = "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()

    assert not verify_meta_signature(BODY, empty_key_signature, [""])
    assert not verify_meta_signature(BODY, empty_key_signature, [])
    with pytest.raises(ValueError, match="empty secret"):
        meta_signature(BODY, "")


def test_a_lone_secret_string_is_not_split_into_characters() -> None:
    one_letter_signature = meta_signature(BODY, "s")

    assert not verify_meta_signature(BODY, one_letter_signature, "secret")
    assert verify_meta_signature(BODY, meta_signature(BODY, "secret"), "secret")


def test_meta_handshake_echoes_the_challenge_only_for_a_known_token() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok-2", "hub.challenge": "1158201444"}

    assert meta_verification_challenge(params, ["tok-1", "tok-2"]) == "1158201444"
    assert meta_verification_challenge(params, "tok-2") == "1158201444"
    assert meta_verification_challenge(params, ["tok-1"]) is None
    assert meta_verification_challenge({**params, "hub.mode": "unsubscribe"}, "tok-2") is None
    assert meta_verification_challenge({**params, "hub.challenge": ""}, "tok-2") is None
    assert meta_verification_challenge({"hub.mode": "subscribe"}, "tok-2") is None
    assert meta_verification_challenge({**params, "hub.verify_token": ""}, [""]) is None


@needs_shared
def test_x_crc_response_matches_the_shared_vector() -> None:
    vector = _shared_vector("x_crc_test_vector.json")

    token = x_crc_response_token(vector["crc_token"], vector["consumer_secret"])

    assert token == vector["expected_response"]["response_token"]
    assert x_crc_response_token(vector["crc_token"] + "x", vector["consumer_secret"]) != token


def test_x_signature_is_base64_hmac_sha256_with_prefix() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    expected = "sha256=" + base64.b64encode(digest).decode()

    assert x_signature(BODY, SECRET) == expected
    assert verify_x_signature(BODY, expected, [SECRET])


def test_x_signature_refuses_tampering_wrong_secret_and_missing_prefix() -> None:
    header = x_signature(BODY, SECRET)

    assert not verify_x_signature(BODY + b" ", header, SECRET)
    assert not verify_x_signature(BODY, header, "wrong-secret")
    assert not verify_x_signature(BODY, header.removeprefix("sha256="), SECRET)
    assert not verify_x_signature(BODY, None, SECRET)
    assert not verify_x_signature(BODY, "sha256=ñ", SECRET)


def test_x_signature_accepts_consumer_or_oauth2_client_secret() -> None:
    keys = ["consumer-secret", "oauth2-client-secret"]

    assert verify_x_signature(BODY, x_signature(BODY, "oauth2-client-secret"), keys)
    assert verify_x_signature(BODY, x_signature(BODY, "consumer-secret"), keys)
    assert not verify_x_signature(BODY, x_signature(BODY, "bearer-token"), keys)
