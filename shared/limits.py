"""Limits on what a request may carry: body size, and text the database and Kafka cannot keep.

- `read_json_body`: the raw body of a JSON request, read as a stream and refused (413) as soon
  as it passes a limit, so a large body is never held whole.
- `RequestLimitsMiddleware`: every service's ceiling on any request body (Content-Length
  checked up front, the stream counted as it is read), and U+0000 refused in paths and query
  strings (PostgreSQL text cannot hold it; the request would fail deep inside a query).
- `unstorable_text`: where in a decoded JSON value a string holds U+0000 or a lone UTF-16
  surrogate (neither can be stored or encoded as UTF-8), for validators of request models.

Written here rather than taken from a library: Starlette has no body limit of its own, and
the checks are a few lines over its ASGI interfaces.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, model_validator
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PayloadTooLargeError, UnsupportedMediaTypeError, problem_response

# A lone surrogate (not part of a pair) or U+0000: valid in a Python str, not in UTF-8 text.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# Nesting deeper than this is refused before it reaches a recursive walker or the database.
MAX_JSON_DEPTH = 64


def too_large(limit: int) -> HTTPException:
    """413 raised from inside a body stream: FastAPI re-raises HTTPExceptions from body reads
    (anything else becomes its generic 400), and the problem+json handler renders it."""
    return HTTPException(413, f"the body is over {limit} bytes")


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body, refused when it is not JSON (415) or larger than `limit` bytes (413)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"send application/json, not {content_type or 'no content type'}",
            field="Content-Type",
        )
    return await read_limited_body(request, limit)


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, read as a stream; 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is over {limit} bytes", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


class RequestLimitsMiddleware:
    """Refuse bodies over `max_body_bytes` (413) and U+0000 in the path or query (400)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"\x00" in query or b"%00" in query:
            response = problem_response(
                400,
                "Bad request",
                "the path or query string contains U+0000",
                instance=path.replace("\x00", ""),
                field="path" if "\x00" in path else "query",
            )
            await response(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem_response(
                413,
                "Payload too large",
                f"the body is over {limit} bytes",
                instance=path,
                limit=limit,
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)


def unstorable_text(value: Any, path: str = "", depth: int = 0) -> str | None:
    """The path (`items.3.text`) of the first string in `value` holding U+0000 or a lone
    surrogate, `""` for `value` itself; None when every string is storable."""
    if depth > MAX_JSON_DEPTH:
        return path or "(root)"
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _UNSTORABLE.search(key) is not None:
                return where
            found = unstorable_text(item, where, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unstorable_text(item, f"{path}.{index}" if path else str(index), depth + 1)
            if found is not None:
                return found
    return None


def refuse_unstorable_text(value: Any) -> Any:
    """For `model_validator(mode="before")`: raise ValueError naming the field."""
    where = unstorable_text(value)
    if where is not None:
        raise ValueError(
            f"{where or 'value'}: text may not contain U+0000 or unpaired surrogates"
            " (or nest deeper than 64 levels)"
        )
    return value


class InputModel(BaseModel):
    """Base of request bodies: text the database and Kafka cannot keep (U+0000, lone
    surrogates) is refused as a validation error (422) before anything is stored."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        return refuse_unstorable_text(data)
