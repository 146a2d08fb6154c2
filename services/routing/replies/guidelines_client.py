"""The guidelines service's check API, called synchronously while a reply is drafted.

Routing calls `POST /v1/guidelines/check` on the guidelines service directly (inside the
cluster, not through the gateway), signing each request with the internal principal header as
the gateway does (`shared.auth.PrincipalAuth`): the caller's key id and brand limits travel
with it, so the guidelines service applies the same brand limits it would to the caller.

Anything but an answer (refused connection, timeout, a 5xx, a body that is not a check) is
`GuidelinesUnavailable`: a reply is never sent unchecked. A brand without a guideline is
`NoGuideline`. Only the fields routing needs are read from the answer; the violations and
blockers are kept as the service wrote them, to hand back to the author.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.auth import Principal, PrincipalAuth, Scope

CHECK_PATH = "/v1/guidelines/check"


class CheckContext(BaseModel):
    """What the reply answers (the guidelines API's `context`)."""

    inbound_text: str | None = None
    inbound_sentiment: str | None = None
    intent: str | None = None
    customer_name: str | None = None


class CheckResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    check_id: str
    passed: bool
    score: float
    band: str
    violations: list[dict[str, Any]]
    blockers: list[dict[str, Any]] = []
    lang: str
    guideline_version: int

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [item for item in self.violations if item.get("level") == "error"]

    @property
    def acceptable(self) -> bool:
        """Publishable: the brand's policy passes it and no error-level rule is broken."""
        return self.passed and not self.errors


class GuidelinesUnavailable(Exception):
    """The check could not be made (the reason is in the message, for logs)."""


class NoGuideline(Exception):
    """The brand has no guideline to check against."""


# A pooled connection the server closed as it was reused: the check never ran, so once more
# on a new connection.
_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class GuidelinesClient:
    def __init__(self, base_url: str, secret: str, *, timeout: float) -> None:
        self.secret = secret
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            # Idle connections are dropped before the server's keep-alive (uvicorn: 5 s) would
            # close them under a request.
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=2.0
            ),
        )

    async def close(self) -> None:
        await self.client.aclose()

    def _auth(self, caller: Principal) -> PrincipalAuth:
        # The caller's own limits; only the scope the check needs.
        principal = Principal(
            key_id=caller.key_id,
            name=caller.name,
            scopes=frozenset({Scope.replies_write.value}),
            brands=caller.brands,
            member_id=caller.member_id,
            member_brand_id=caller.member_brand_id,
        )
        return PrincipalAuth(principal, self.secret, "guidelines")

    async def _post(self, body: dict[str, Any], caller: Principal) -> httpx.Response:
        for attempt in (1, 2):
            try:
                return await self.client.post(CHECK_PATH, json=body, auth=self._auth(caller))
            except _STALE_CONNECTION as exc:
                if attempt == 2:
                    raise GuidelinesUnavailable(f"{type(exc).__name__}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise GuidelinesUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    async def check(
        self,
        caller: Principal,
        *,
        brand_id: str,
        text: str,
        lang: str | None,
        channel: str,
        context: CheckContext,
        reply_id: str,
        case_id: str,
    ) -> CheckResult:
        body: dict[str, Any] = {
            "brand_id": brand_id,
            "channel": channel,
            "text": text,
            "context": context.model_dump(exclude_none=True),
            "reply_id": reply_id,
            "case_id": case_id,
        }
        if lang is not None and len(lang) == 2 and lang.isalpha() and lang.islower():
            body["lang"] = lang
        response = await self._post(body, caller)
        if response.status_code == 404:
            raise NoGuideline(brand_id)
        if response.status_code != 200:
            raise GuidelinesUnavailable(f"the check answered {response.status_code}")
        try:
            return CheckResult.model_validate_json(response.content)
        except ValidationError as exc:
            raise GuidelinesUnavailable("the check answered a body that is not a check") from exc
