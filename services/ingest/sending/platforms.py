"""The platform calls that send a reply, and how each platform's answer is read.

Request shapes, as the platforms document them (Bearer auth on every call):

- comment_reply on Facebook: `POST {graph}/{comment-id}/comments`, `{"message": text}`
  → `{"id"}`; on Instagram: `POST {graph}/{ig-comment-id}/replies`, the same body.
- private_message (Messenger, Instagram Direct): `POST {graph}/{page-id}/messages`,
  `{"recipient": {"id": PSID or IGSID}, "messaging_type": "RESPONSE", "message": {"text"}}`
  → `{"recipient_id", "message_id"}`.
- whatsapp_message: `POST {graph}/{phone-number-id}/messages`, `{"messaging_product":
  "whatsapp", "recipient_type": "individual", "to": wa_id, "type": "text", "text":
  {"preview_url": false, "body": text}}` → `{"messages": [{"id": "wamid..."}]}`.
- x_reply: `POST {x}/2/tweets`, `{"text", "reply": {"in_reply_to_tweet_id"}}` → `{"data":
  {"id"}}`; x_dm: `POST {x}/2/dm_conversations/with/{participant-id}/messages`, `{"text"}`
  → `{"data": {"dm_conversation_id", "dm_event_id"}}`.

Answers become one of four outcomes: `Sent`, `Retry` (429, 5xx, the Graph API's throttling
and transient codes; with the platform's `Retry-After` or X's `x-rate-limit-reset`), `Refused`
(permanent: expired token, missing permission, deleted target, window closed, invalid request)
and `Unknown` (the request may have reached the platform, but no answer came back).

Written by hand over httpx: the platforms' own SDKs cover one platform each, hide the HTTP
status and headers the retry rules need, and bring their own retries, which would defeat
the exactly-once rules of `sending/service.py`.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

import httpx

from shared.events.interactions import MAX_PLATFORM_ID, Channel
from shared.events.sends import PlatformError, SendKind

Api = Literal["graph", "x"]
# Ids are put in URL paths: letters, digits, `_` and `-` only (every platform id is), so a
# crafted id can never reach another path ("../", "?", "/").
_SAFE_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_PLATFORM_ID}}}$")

# Graph API codes (Graph API "Handling Errors", WhatsApp Cloud API error codes).
GRAPH_RATE_LIMITED = frozenset(
    {4, 17, 32, 341, 613, 80001, 80002, 80004, 80005, 80006, 80008, 130429, 131048, 131056}
)
GRAPH_TRANSIENT = frozenset({1, 2, 131000, 131016, 133004})
GRAPH_TOKEN_INVALID = frozenset({190, 102})
GRAPH_PERMISSION = frozenset({3, 10, *range(200, 300)})
# Messenger / Instagram "sent outside of allowed window" (code 10 with these subcodes) and
# WhatsApp's re-engagement error (more than 24 hours since the customer's last message).
GRAPH_WINDOW_SUBCODES = frozenset({2018278, 2534022})
WHATSAPP_WINDOW = 131047
GRAPH_RECIPIENT_UNAVAILABLE = frozenset({551, 131026})
# Code 100 with subcode 33: "Object with ID ... does not exist" (a deleted comment or post).
GRAPH_NOT_FOUND_SUBCODE = 33


@dataclass(frozen=True)
class SendTokens:
    """The send secrets of one connection (decrypted)."""

    page_access_token: str | None = None
    page_id: str | None = None
    whatsapp_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    x_user_token: str | None = None

    @classmethod
    def from_secrets(cls, secrets: dict[str, str]) -> SendTokens:
        return cls(
            page_access_token=secrets.get("page_access_token"),
            page_id=secrets.get("page_id"),
            whatsapp_token=secrets.get("whatsapp_token"),
            whatsapp_phone_number_id=secrets.get("whatsapp_phone_number_id"),
            x_user_token=secrets.get("x_user_token"),
        )


@dataclass(frozen=True)
class PlatformRequest:
    """One call: which API, method, path under its base URL, JSON body and bearer token."""

    api: Api
    method: str
    path: str
    token: str
    json: dict[str, Any] | None = None
    params: dict[str, str] | None = None

    def __repr__(self) -> str:  # never the token
        return f"PlatformRequest({self.api} {self.method} {self.path})"


@dataclass(frozen=True)
class Sent:
    message_id: str


@dataclass(frozen=True)
class Retry:
    code: str
    error: PlatformError | None = None
    retry_after: float | None = None  # seconds the platform asked us to wait


@dataclass(frozen=True)
class Refused:
    code: str
    error: PlatformError | None = None


@dataclass(frozen=True)
class Unknown:
    code: str  # timeout | connection_lost | unreadable_answer
    detail: str = ""


Outcome = Sent | Retry | Refused | Unknown


class NotSendable(Exception):
    """A send that cannot be made at all (no token, a malformed id): refused before a call."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _safe_id(value: str | None, what: str) -> str:
    if value is None:
        raise NotSendable("token_missing", f"the connection has no {what}")
    if not _SAFE_ID.match(value):
        raise NotSendable("invalid_target", f"{what} is not a platform id")
    return value


def _token(value: str | None, name: str) -> str:
    if not value:
        raise NotSendable("token_missing", f"the connection has no {name}")
    return value


def build_send(
    kind: SendKind, channel: Channel, target_id: str, text: str, tokens: SendTokens
) -> PlatformRequest:
    """The platform call that sends `text` (raises NotSendable when it cannot be made)."""
    if kind == SendKind.comment_reply:
        comment = _safe_id(target_id, "the comment id")
        edge = "replies" if channel == Channel.instagram else "comments"
        return PlatformRequest(
            api="graph",
            method="POST",
            path=f"/{comment}/{edge}",
            token=_token(tokens.page_access_token, "page_access_token"),
            json={"message": text},
        )
    if kind == SendKind.private_message:
        token = _token(tokens.page_access_token, "page_access_token")
        page = _safe_id(tokens.page_id, "page_id")
        return PlatformRequest(
            api="graph",
            method="POST",
            path=f"/{page}/messages",
            token=token,
            json={
                "recipient": {"id": _safe_id(target_id, "the recipient id")},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            },
        )
    if kind == SendKind.whatsapp_message:
        token = _token(tokens.whatsapp_token, "whatsapp_token")
        phone = _safe_id(tokens.whatsapp_phone_number_id, "whatsapp_phone_number_id")
        return PlatformRequest(
            api="graph",
            method="POST",
            path=f"/{phone}/messages",
            token=token,
            json={
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": _safe_id(target_id, "the wa_id"),
                "type": "text",
                "text": {"preview_url": False, "body": text},
            },
        )
    token = _token(tokens.x_user_token, "x_user_token")
    if kind == SendKind.x_reply:
        return PlatformRequest(
            api="x",
            method="POST",
            path="/2/tweets",
            token=token,
            json={"text": text, "reply": {"in_reply_to_tweet_id": _safe_id(target_id, "post")}},
        )
    participant = _safe_id(target_id, "the participant id")
    return PlatformRequest(
        api="x",
        method="POST",
        path=f"/2/dm_conversations/with/{participant}/messages",
        token=token,
        json={"text": text},
    )


def can_check(kind: SendKind, channel: Channel) -> bool:
    """Whether an earlier attempt can be looked for before posting again (see the package
    docstring): a Facebook Page comment's replies list the Page's own replies at once."""
    return kind == SendKind.comment_reply and channel == Channel.facebook


def build_check(target_id: str, tokens: SendTokens) -> PlatformRequest:
    """`GET {graph}/{comment-id}/comments`, newest first: where an earlier reply would be."""
    return PlatformRequest(
        api="graph",
        method="GET",
        path=f"/{_safe_id(target_id, 'the comment id')}/comments",
        token=_token(tokens.page_access_token, "page_access_token"),
        params={
            "fields": "id,message,from,created_time",
            "order": "reverse_chronological",
            "filter": "stream",
            "limit": "100",
        },
    )


def find_earlier_reply(body: Any, *, page_id: str | None, text: str) -> str | None:
    """The id of a reply by our Page with exactly this text in a comments listing, if any."""
    rows = body.get("data") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        return None
    for row in rows:
        if not isinstance(row, dict) or row.get("message") != text:
            continue
        author = row.get("from")
        author_id = author.get("id") if isinstance(author, dict) else None
        if page_id is None or author_id == page_id:
            found = row.get("id")
            if isinstance(found, str) and found:
                return storable_message_id(found)
    return None


def storable_message_id(message_id: str) -> str:
    """The sent message's id as it is stored and published (`sends.platform_message_id`,
    `send.completed`): itself, or past `MAX_PLATFORM_ID` characters a digest of it. The message
    is out either way; refusing the id would only make the send look lost (and be tried
    again), while no delivery report can name it (ingest refuses ids that long)."""
    if len(message_id) <= MAX_PLATFORM_ID:
        return message_id
    return "sha256-" + hashlib.sha256(message_id.encode()).hexdigest()


# ------------------------------------------------------------------------------------ answers


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)[:2000]


def platform_error(api: Api, response: httpx.Response) -> PlatformError:
    """The platform's error as it answered: Graph `{"error": {...}}`, X problem details or
    `{"errors": [...]}`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if api == "graph" and isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return PlatformError(
            http_status=status,
            code=_as_text(error.get("code")),
            subcode=_as_text(error.get("error_subcode")),
            type=_as_text(error.get("type")),
            message=_as_text(error.get("message")),
            trace_id=_as_text(error.get("fbtrace_id")),
        )
    if api == "x" and isinstance(body, dict):
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else {}
        first = first if isinstance(first, dict) else {}
        return PlatformError(
            http_status=status,
            code=_as_text(body.get("type") or first.get("code") or first.get("type")),
            type=_as_text(body.get("title") or first.get("title")),
            message=_as_text(body.get("detail") or first.get("message") or first.get("detail")),
        )
    return PlatformError(http_status=status, message=_as_text(response.text[:500]) or None)


def retry_after_seconds(response: httpx.Response, *, now: float | None = None) -> float | None:
    """`Retry-After` (seconds or an HTTP date), else X's `x-rate-limit-reset` (epoch seconds)."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return max(0.0, moment.timestamp() - now)
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


def _graph_code(error: PlatformError) -> tuple[int | None, int | None]:
    def number(value: str | None) -> int | None:
        return int(value) if value is not None and value.lstrip("-").isdigit() else None

    return number(error.code), number(error.subcode)


def _graph_transient(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("is_transient") is True


def classify(api: Api, response: httpx.Response) -> Outcome:
    """What a platform's answer to a send means."""
    status = response.status_code
    if 200 <= status < 300:
        message_id = sent_message_id(response)
        if message_id is None:
            return Unknown("unreadable_answer", f"HTTP {status} without a message id")
        return Sent(message_id)
    error = platform_error(api, response)
    wait = retry_after_seconds(response)
    if api == "graph":
        code, subcode = _graph_code(error)
        if code in GRAPH_RATE_LIMITED:
            return Retry("rate_limited", error, wait)
        if code in GRAPH_TRANSIENT or _graph_transient(response):
            return Retry("platform_unavailable", error, wait)
        if status == 429:
            return Retry("rate_limited", error, wait)
        if status >= 500 and code is None:
            return Retry("platform_unavailable", error, wait)
        if code in GRAPH_TOKEN_INVALID:
            return Refused("token_invalid", error)
        if code == WHATSAPP_WINDOW or subcode in GRAPH_WINDOW_SUBCODES:
            return Refused("window_closed", error)
        if code in GRAPH_RECIPIENT_UNAVAILABLE:
            return Refused("recipient_unavailable", error)
        if code == 100 and subcode == GRAPH_NOT_FOUND_SUBCODE:
            return Refused("target_not_found", error)
        if code in GRAPH_PERMISSION:
            return Refused("permission_denied", error)
        if status >= 500:
            return Retry("platform_unavailable", error, wait)
        return Refused("rejected", error)
    if status == 429:
        return Retry("rate_limited", error, wait)
    if status >= 500:
        return Retry("platform_unavailable", error, wait)
    if status == 401:
        return Refused("token_invalid", error)
    if status == 403:
        return Refused("permission_denied", error)
    if status == 404:
        return Refused("target_not_found", error)
    return Refused("rejected", error)


def sent_message_id(response: httpx.Response) -> str | None:
    """The new message's id in a success answer of any of the six calls."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    messages = body.get("messages")
    if isinstance(data, dict):  # X: a post's id, a DM's event id
        found = data.get("dm_event_id") or data.get("id")
    elif isinstance(messages, list) and messages and isinstance(messages[0], dict):
        found = messages[0].get("id")  # WhatsApp's wamid
    else:
        found = body.get("message_id") or body.get("id")  # Messenger mid, comment id
    return storable_message_id(str(found)) if found else None


class PlatformClient:
    """One pooled httpx client for every platform, with the configured base URLs and
    timeouts. Connecting may be retried (nothing was sent); a timeout or a broken connection
    after the request was written is `Unknown`."""

    def __init__(
        self,
        *,
        graph_url: str,
        x_url: str,
        connect_timeout: float,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.bases: dict[Api, str] = {"graph": graph_url.rstrip("/"), "x": x_url.rstrip("/")}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def call(self, request: PlatformRequest) -> httpx.Response | Retry | Unknown:
        """The platform's answer, or what a transport failure means for this call."""
        try:
            return await self._client.request(
                request.method,
                self.bases[request.api] + request.path,
                json=request.json,
                params=request.params,
                headers={"Authorization": f"Bearer {request.token}"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Refused or never connected: the platform has not seen the request.
            return Retry("platform_unreachable", PlatformError(message=type(exc).__name__))
        except httpx.TimeoutException as exc:
            return Unknown("timeout", type(exc).__name__)
        except httpx.TransportError as exc:
            return Unknown("connection_lost", type(exc).__name__)

    async def send(self, request: PlatformRequest) -> Outcome:
        answer = await self.call(request)
        if isinstance(answer, httpx.Response):
            return classify(request.api, answer)
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()
