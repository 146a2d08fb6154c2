"""What every outbound HTTP client of the project knows about reused connections.

A server closes an idle keep-alive connection after its own timeout (uvicorn's and Node's: 5 s,
the same as httpx's default expiry). A request sent on a connection the server is closing at
that moment fails without reaching it. Two defences, used by the gateway's upstream pool, the
webhooks sender and routing's guidelines client:

- idle connections expire on our side first (`IDLE_CONNECTION_SECONDS`, below 5 s);
- a request that failed with one of `STALE_CONNECTION_ERRORS` never reached the server's
  handler, so a caller may send it once more on a new connection when that is safe for it.
"""

from __future__ import annotations

import httpx

IDLE_CONNECTION_SECONDS = 2.0

STALE_CONNECTION_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
