"""A local stand-in for the Graph API and X API v2 send endpoints, served over real HTTP.

It records every request (method, path, query, headers, JSON body), answers as the platforms
document their success bodies, keeps the replies posted under each comment (so
`GET /{comment-id}/comments` lists them), and can be told to answer an error, a rate limit,
or to be slow: `script(method, path, Answer(...))`; an answer with `release` waits for that
event (the test decides when the platform answers). An answer with `processed=True` is a
success the platform has already applied before it waits (the reply exists even when the
caller gave up waiting for the answer).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

GRAPH_VERSION = "v21.0"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float  # loop time it arrived


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    processed: bool = False
    release: asyncio.Event | None = None


class FakePlatforms:
    def __init__(self, page_id: str = "448") -> None:
        self.page_id = page_id
        self.requests: list[Recorded] = []
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self._scripts: dict[tuple[str, str], list[Answer]] = {}
        self._ids = itertools.count(1000)
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    def script(self, method: str, path: str, *answers: Answer) -> None:
        """Answer the next requests to `path` (without the Graph version) with `answers`."""
        self._scripts.setdefault((method, path), []).extend(answers)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            call
            for call in self.requests
            if (method is None or call.method == method) and (path is None or call.path == path)
        ]

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        path = "/" + request.path_params["path"]
        if path.startswith(f"/{GRAPH_VERSION}/"):
            path = path[len(GRAPH_VERSION) + 1 :]
        self.requests.append(
            Recorded(
                method=request.method,
                path=path,
                query=dict(request.query_params),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
                at=asyncio.get_running_loop().time(),
            )
        )
        queue = self._scripts.get((request.method, path))
        answer = queue.pop(0) if queue else Answer(processed=True)
        if answer.release is not None:
            await answer.release.wait()
        if not answer.processed:
            await asyncio.sleep(answer.delay)
            return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
        status, result = self._apply(request.method, path, body)
        await asyncio.sleep(answer.delay)
        return JSONResponse(result, status_code=status, headers=answer.headers)

    def _apply(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """What the platform does and answers on success."""
        parts = path.strip("/").split("/")
        number = next(self._ids)
        if method == "GET" and len(parts) == 2 and parts[1] == "comments":
            return 200, {"data": list(reversed(self.comments.get(parts[0], [])))}
        if parts[:1] == ["2"]:
            if parts[1:] == ["tweets"]:
                tweet_id = f"18{number}"
                return 201, {
                    "data": {
                        "id": tweet_id,
                        "text": body["text"],
                        "edit_history_tweet_ids": [tweet_id],
                    }
                }
            return 201, {
                "data": {"dm_conversation_id": f"{parts[3]}-99", "dm_event_id": f"17{number}"}
            }
        if len(parts) == 2 and parts[1] in ("comments", "replies"):
            reply_id = f"{parts[0]}_{number}"
            self.comments.setdefault(parts[0], []).append(
                {"id": reply_id, "message": body["message"], "from": {"id": self.page_id}}
            )
            return 200, {"id": reply_id}
        if isinstance(body, dict) and body.get("messaging_product") == "whatsapp":
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": f"wamid.HBgL{number}"}],
            }
        return 200, {"recipient_id": body["recipient"]["id"], "message_id": f"m_{number}"}


def graph_error(code: int, message: str, *, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}
