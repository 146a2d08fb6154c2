"""HTTP requests exactly as written: targets with `..`, `%2e`, control characters, header bytes
that are not ASCII. HTTP clients normalise or refuse these, so tests that prove a server's
handling of them speak HTTP/1.1 themselves (h11 for the framing, one connection each)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


async def raw_request(
    base_url: str,
    method: str,
    target: bytes | str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    wait_seconds: float = 10.0,
) -> RawResponse:
    """Send one request with `target` as the request line's target, byte for byte."""
    url = urlsplit(base_url)
    assert url.hostname is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    connection = h11.Connection(h11.CLIENT)
    sent_headers = [(b"host", f"{url.hostname}:{url.port}".encode()), (b"connection", b"close")]
    sent_headers.extend(headers or [])
    if body:
        sent_headers.append((b"content-length", str(len(body)).encode()))
    raw_target = target.encode("latin-1") if isinstance(target, str) else target
    try:
        data = connection.send(h11.Request(method=method, target=raw_target, headers=sent_headers))
        assert data is not None
        writer.write(data)
        if body:
            data = connection.send(h11.Data(data=body))
            assert data is not None
            writer.write(data)
        end = connection.send(h11.EndOfMessage())
        assert end is not None
        writer.write(end)
        await writer.drain()
        status = 0
        response_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        async with asyncio.timeout(wait_seconds):
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(await reader.read(65536))
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                    response_headers = [
                        (name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in event.headers
                    ]
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
        return RawResponse(status, response_headers, b"".join(chunks))
    finally:
        writer.close()
