"""The guideline check client over real sockets: a connection the server drops without an
answer (a pooled connection closed as it was reused) is tried once more on a new one; a server
that keeps failing, or answers an error, is `GuidelinesUnavailableError`, never a pass."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from services.routing.guidelines_client import (
    CheckContext,
    GuidelinesClient,
    GuidelinesUnavailableError,
    NoGuidelineError,
)
from shared.auth import Principal

CHECK = {
    "check_id": "c-1",
    "passed": True,
    "score": 92.0,
    "goal_scores": {},
    "band": "good",
    "violations": [],
    "skipped_rules": [],
    "blockers": [],
    "lang": "es",
    "guideline_version": 3,
}


class Server:
    """Drops the first `drops` connections after reading a request; then answers `status`."""

    def __init__(self, drops: int, status: int = 200) -> None:
        self.drops = drops
        self.status = status
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        if self.connections <= self.drops:
            writer.close()
            return
        body = json.dumps(CHECK if self.status == 200 else {"detail": "x"}).encode()
        writer.write(
            f"HTTP/1.1 {self.status} X\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def serving() -> AsyncIterator[tuple[Server, str]]:
    server = Server(drops=0)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server, f"http://127.0.0.1:{port}"


async def check(url: str) -> object:
    client = GuidelinesClient(url, secret=SecretStr("secret"), timeout=2.0)
    try:
        return await client.check(
            "acme",
            "Buenos días",
            on_behalf_of=Principal(key_id="k"),
            lang="es",
            channel="facebook",
            context=CheckContext(inbound_text="Hola"),
            reply_id="r",
            case_id="c",
        )
    finally:
        await client.aclose()


async def test_a_dropped_connection_is_tried_once_more(serving: tuple[Server, str]) -> None:
    server, url = serving
    server.drops = 1
    result = await check(url)
    assert getattr(result, "check_id", None) == "c-1"
    assert server.connections == 2


async def test_a_server_that_keeps_dropping_is_unavailable(serving: tuple[Server, str]) -> None:
    server, url = serving
    server.drops = 5
    with pytest.raises(GuidelinesUnavailableError):
        await check(url)
    assert server.connections == 2


@pytest.mark.parametrize(
    ("status", "error"), [(500, GuidelinesUnavailableError), (404, NoGuidelineError)]
)
async def test_errors_are_never_a_pass(
    serving: tuple[Server, str], status: int, error: type[Exception]
) -> None:
    server, url = serving
    server.status = status
    with pytest.raises(error):
        await check(url)
