"""One structured, redacted log stream: library lines (httpx, uvicorn, aiokafka, ...) come out
as the project's JSON lines, never with a secret, and a library failing in a loop is reduced to
a few lines and a count."""

from __future__ import annotations

import json
import logging
import logging.config
from typing import Any

import pytest
import structlog
from uvicorn.config import LOGGING_CONFIG

from shared.observability import (
    RepeatedLogFilter,
    adopt_library_loggers,
    configure_logging,
    redact_text,
)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_library_lines_are_structured_and_never_carry_a_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("test-logs")
    # uvicorn installs handlers of its own after the app factory ran; the lifespan adopts them.
    logging.config.dictConfig(LOGGING_CONFIG)
    adopt_library_loggers()
    logging.getLogger("httpx").warning(
        "HTTP Request: GET http://127.0.0.1:8081/v1/webhooks/meta/1?hub.mode=subscribe"
        '&hub.verify_token=VERIFY-SECRET&hub.challenge=1158201444 "HTTP/1.1 200 OK"'
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "10.0.0.1:5000",
        "GET",
        "/v1/webhooks/x/1?crc_token=CRC-SECRET&api_key=KEY-SECRET&client_secret=CS-SECRET",
        "1.1",
        200,
    )
    logging.getLogger("uvicorn.error").error("Authorization: Bearer sc_abcdefghijklmnopqrstuvwxyz")
    structlog.get_logger("socialcare.test").info(
        "upstream_called", url="http://ingest/v1/x?access_token=AT-SECRET&limit=5"
    )
    output = capsys.readouterr().out
    for secret in ("VERIFY-SECRET", "CRC-SECRET", "KEY-SECRET", "CS-SECRET", "AT-SECRET"):
        assert secret not in output
    assert "sc_abcdefghijklmnopqrstuvwxyz" not in output
    lines = json_lines(output)
    assert len(lines) == 4, output  # every line is JSON, none plain text
    by_logger = {line.get("logger", "socialcare"): line for line in lines}
    assert by_logger["httpx"]["level"] == "warning"
    assert "hub.challenge=1158201444" in by_logger["httpx"]["event"]
    assert by_logger["uvicorn.access"]["service"] == "test-logs"
    assert "limit=5" in lines[-1]["url"]


def test_httpx_request_lines_are_not_logged_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-logs")
    logging.getLogger("httpx").info("HTTP Request: GET http://ingest/v1/interactions 200")
    assert capsys.readouterr().out == ""


def test_redaction_keeps_what_is_not_secret() -> None:
    assert redact_text("GET /v1/cases?limit=5&cursor=abc") == "GET /v1/cases?limit=5&cursor=abc"
    assert redact_text("/x?hub.verify_token=s&hub.mode=subscribe") == (
        "/x?hub.verify_token=[redacted]&hub.mode=subscribe"
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeated_lines_are_rate_limited_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-logs")
    root_handler = next(
        handler for handler in logging.getLogger().handlers if handler.get_name() == "socialcare"
    )
    clock = _Clock()
    for existing in list(root_handler.filters):
        root_handler.removeFilter(existing)
    root_handler.addFilter(RepeatedLogFilter(root_handler, burst=5, interval=10, clock=clock))
    kafka = logging.getLogger("aiokafka")
    for _ in range(1000):
        kafka.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
    logging.getLogger("aiokafka.other").error("another line")
    lines = json_lines(capsys.readouterr().out)
    assert [line["event"] for line in lines].count(
        "Unable connect to node with id 1: Connect call failed"
    ) == 5
    assert len(lines) == 6
    clock.now += 11
    kafka.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
    lines = json_lines(capsys.readouterr().out)
    summary = next(line for line in lines if line["event"] == "log_lines_suppressed")
    assert summary["suppressed"] == 995
    assert summary["logger"] == "aiokafka"
    assert summary["suppressed_message"].startswith("Unable connect")
    assert lines[-1]["event"].startswith("Unable connect")
