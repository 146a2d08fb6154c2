"""One HTTP attempt: checked address, signed headers, 15 s timeout, no redirects, the first
KiB of the answer kept for the delivery log.

Each endpoint has its own connection pool (an httpx client holding at most its in-flight
bound of keep-alive HTTP/1.1 connections). One shared pool of hundreds of connections
was the bottleneck: httpx's pool scans its connections and waiting requests on every
request, so one client with 400 connections made ten times fewer requests per second than
forty clients of ten did (measured on loopback). Pools of idle endpoints are closed
once more than `max_idle_pools` are kept, least recently used first."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from services.webhooks.signing import Signer
from services.webhooks.ssrf import Resolver, UrlError
from shared.http import IDLE_CONNECTION_SECONDS

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
    def __init__(
        self,
        resolver: Resolver,
        *,
        timeout: float,
        connections_per_pool: int,
        max_idle_pools: int = 1000,
    ) -> None:
        self.resolver = resolver
        # A receiver that does not even accept the connection is given less time.
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self.limits = httpx.Limits(
            max_connections=connections_per_pool,
            max_keepalive_connections=connections_per_pool,
            # Below the receivers' own idle timeouts (shared/http.py): a connection the
            # receiver is closing is not reused, so an attempt does not fail on a race it did
            # not cause.
            keepalive_expiry=IDLE_CONNECTION_SECONDS,
        )
        self.max_idle_pools = max_idle_pools
        self._pools: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._in_use: dict[str, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def _pool(self, key: str) -> httpx.AsyncClient:
        client = self._pools.get(key)
        if client is None:
            client = self._pools[key] = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                limits=self.limits,
                trust_env=False,  # no proxy from the environment: we connect to checked addresses
            )
            self._evict()
        else:
            self._pools.move_to_end(key)
        return client

    def _evict(self) -> None:
        idle = [key for key in self._pools if not self._in_use.get(key)]
        for key in idle[: max(0, len(idle) - self.max_idle_pools)]:
            task = asyncio.create_task(self._pools.pop(key).aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @property
    def pools(self) -> int:
        return len(self._pools)

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for client in pools:
            await client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def send(
        self,
        url: str,
        signer: Signer,
        message_id: str,
        body: bytes,
        *,
        pool: str | None = None,
    ) -> AttemptResult:
        """POST `body` to `url`; `pool` names the connection pool (the endpoint's id; the
        URL's own when not given)."""
        key = pool or url
        self._in_use[key] = self._in_use.get(key, 0) + 1
        try:
            return await self._send(self._pool(key), url, signer, message_id, body)
        finally:
            left = self._in_use[key] - 1
            if left:
                self._in_use[key] = left
            else:
                del self._in_use[key]

    async def _send(
        self, client: httpx.AsyncClient, url: str, signer: Signer, message_id: str, body: bytes
    ) -> AttemptResult:
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
            request = client.build_request(
                "POST", target.connect_url(), headers=headers, content=body, extensions=extensions
            )
            response = await client.send(request, stream=True)
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
