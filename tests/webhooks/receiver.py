"""A real HTTP receiver on loopback for the webhooks tests and bench: every request recorded,
each path answering as told (a status sequence, a delay, headers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.types import Receive, Scope, Send

from tests.conftest import serve


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    # The status answered (0 while the answer has not been sent).
    status: int = 0

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verifies_with(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Behaviour:
    """Answers `statuses` in turn, then `then` for ever; waits `delay` seconds first."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.then


class Receiver:
    def __init__(self) -> None:
        self.url = ""
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self._arrived = asyncio.Event()

    def at(self, path: str, behaviour: Behaviour | None = None) -> str:
        """The URL of `path`, answering as `behaviour` says (200 by default)."""
        self.behaviours[path] = behaviour or Behaviour()
        return f"{self.url}{path}"

    def on(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path == path]

    # 60 s: a consumer group rebalance after the previous test app left can hold deliveries
    # back for tens of seconds on a busy host; a real loss still fails.
    async def wait_for(self, path: str, count: int, within: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.on(path)) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{path}: {len(self.on(path))} of {count} deliveries in {within} s"
                )
            self._arrived.clear()
            try:
                async with asyncio.timeout(min(left, 0.2)):
                    await self._arrived.wait()
            except TimeoutError:
                pass
        return self.on(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # The sender went away before the whole body arrived (a killed replica):
                # nothing was delivered, so nothing is recorded.
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        path = scope["path"]
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        received = Received(path, headers, b"".join(chunks), time.monotonic())
        self.received.append(received)
        self._arrived.set()
        behaviour = self.behaviours.get(path, Behaviour(then=404))
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        status = behaviour.next_status()
        received.status = status
        response_headers = [(b"content-type", b"text/plain")]
        response_headers += [(k.encode(), v.encode()) for k, v in behaviour.headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": f"status {status}".encode()})


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with serve(receiver) as url:  # type: ignore[arg-type]
        receiver.url = url
        yield receiver
