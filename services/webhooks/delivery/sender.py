"""One HTTP attempt: checked address, signed headers, 15 s timeout, no redirects, the first
KiB of the answer kept for the delivery log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from services.webhooks.signing import Signer
from services.webhooks.ssrf import Resolver, UrlError

EXCERPT_BYTES = 1024
# Past this much of a response body the rest is not read (the connection is dropped).
MAX_READ_BYTES = 64 * 1024
USER_AGENT = "socialcare-webhooks/1"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    started_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    excerpt: str | None
    retry_after: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    def __init__(self, resolver: Resolver, *, timeout: float, max_connections: int) -> None:
        self.resolver = resolver
        self.client = httpx.AsyncClient(
            # A receiver that does not even accept the connection is given less time.
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            trust_env=False,  # no proxy from the environment: we connect to checked addresses
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, url: str, signer: Signer, message_id: str, body: bytes) -> AttemptResult:
        started_at = datetime.now(UTC)
        began = time.perf_counter()
        try:
            target = await self.resolver.target(url)
        except UrlError as exc:
            return AttemptResult(started_at, None, 0.0, f"refused: {exc.reason}", None, None)
        headers = {
            "host": target.host_header(),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signer.headers(message_id, started_at, body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            request = self.client.build_request(
                "POST", target.connect_url(), headers=headers, content=body, extensions=extensions
            )
            response = await self.client.send(request, stream=True)
            try:
                read = bytearray()
                async for chunk in response.aiter_bytes():
                    read.extend(chunk)
                    if len(read) > MAX_READ_BYTES:
                        break
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            return self._failure(started_at, began, "timeout")
        except httpx.HTTPError as exc:
            return self._failure(started_at, began, f"{type(exc).__name__}: {exc}"[:500])
        latency = (time.perf_counter() - began) * 1000
        excerpt = bytes(read[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
        return AttemptResult(
            started_at,
            response.status_code,
            latency,
            None,
            excerpt,
            response.headers.get("retry-after"),
        )

    @staticmethod
    def _failure(started_at: datetime, began: float, error: str) -> AttemptResult:
        latency = (time.perf_counter() - began) * 1000
        return AttemptResult(started_at, None, latency, error, None, None)
