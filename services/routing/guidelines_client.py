"""Routing's client of the guidelines service's check API (`POST /v1/guidelines/check`).

Routing checks text against a brand's guideline when a canned reply is saved and when a reply
is drafted. The call goes over HTTP (services never share code paths or tables), signed with
the internal principal header exactly as the gateway signs what it forwards: the guidelines
service trusts nothing else. The principal is routing's own, limited to the one brand checked
and to `guidelines:read`, and names the API key it acts for (`routing:<key id>`) for the logs.

Failures are typed so each caller decides what they mean:
- `GuidelinesUnavailableError` (503, problem+json with `Retry-After`): connection refused,
  timeout, a 5xx or an answer that is not a check: nothing was checked.
- `NoGuidelineError`: the brand has published no guideline yet (guidelines answers 404).
- `GuidelineCheckRefusedError` (422): guidelines refused the text itself (too long, a language
  it does not know); its problem body is kept in `extra["upstream"]`.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from shared.auth import Principal, PrincipalAuth, Scope
from shared.errors import ServiceUnavailableError, UnprocessableError
from shared.http import IDLE_CONNECTION_SECONDS, STALE_CONNECTION_ERRORS

logger = structlog.get_logger("socialcare.routing.guidelines_client")

CHECK_PATH = "/v1/guidelines/check"
SERVICE = "guidelines"


class GuidelinesUnavailableError(ServiceUnavailableError):
    title = "Guidelines unavailable"


class GuidelineCheckRefusedError(UnprocessableError):
    title = "The guideline check refused the text"


class NoGuidelineError(Exception):
    """The brand has no published guideline: there is nothing to check against."""

    def __init__(self, brand_id: str) -> None:
        super().__init__(f"brand {brand_id} has no guideline")
        self.brand_id = brand_id


class CheckContext(BaseModel):
    """What the checked text answers (the guidelines service's `context`)."""

    inbound_text: str | None = None
    inbound_sentiment: Literal["negative", "neutral", "positive"] | None = None
    intent: str | None = None
    customer_name: str | None = None


class Span(BaseModel):
    start: int
    end: int


class Violation(BaseModel):
    """One broken rule, as the check explains it (level: error, warning or suggestion); fields
    this model does not name are kept as the service wrote them, to hand back to the author."""

    model_config = ConfigDict(extra="allow")

    rule_id: str
    level: str
    goal: str
    message: str
    span: Span
    match: str
    suggestions: list[str] = Field(default_factory=list)


class Blocker(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    rule_ids: list[str] = Field(default_factory=list)


class GuidelineCheck(BaseModel):
    """The answer of one check (the fields routing uses; others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    check_id: str
    passed: bool
    score: float
    goal_scores: dict[str, float] = Field(default_factory=dict)
    band: str
    violations: list[Violation] = Field(default_factory=list)
    blockers: list[Blocker] = Field(default_factory=list)
    lang: str
    guideline_version: int

    def at_level(self, level: str) -> list[Violation]:
        return [violation for violation in self.violations if violation.level == level]

    @property
    def errors(self) -> list[Violation]:
        return self.at_level("error")

    @property
    def acceptable(self) -> bool:
        """Publishable: the brand's policy passes it and no error-level rule is broken."""
        return self.passed and not self.errors


def service_principal(brand_id: str, on_behalf_of: Principal | None = None) -> Principal:
    """Routing's principal for one check: `guidelines:read` on `brand_id` only."""
    caller = on_behalf_of.key_id if on_behalf_of is not None else "system"
    return Principal(
        key_id=f"routing:{caller}",
        name="routing",
        scopes=frozenset({Scope.guidelines_read.value}),
        brands=frozenset({brand_id}),
    )


class GuidelinesClient:
    """One pooled HTTP client for the check API; build it in the lifespan, `aclose()` it on
    shutdown. `transport` is for tests that answer in-process."""

    def __init__(
        self,
        base_url: str,
        *,
        secret: SecretStr,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            headers={"Accept": "application/json"},
            # Idle connections are dropped before the server's keep-alive would close them
            # under a request (shared/http.py).
            limits=httpx.Limits(
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=IDLE_CONNECTION_SECONDS,
            ),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def check(
        self,
        brand_id: str,
        text: str,
        *,
        lang: str | None = None,
        channel: str | None = None,
        context: CheckContext | None = None,
        reply_id: str | None = None,
        case_id: str | None = None,
        on_behalf_of: Principal | None = None,
    ) -> GuidelineCheck:
        """Check `text` against the brand's current guideline."""
        body: dict[str, Any] = {"brand_id": brand_id, "text": text}
        optional = {"lang": lang, "channel": channel, "reply_id": reply_id, "case_id": case_id}
        body.update({name: value for name, value in optional.items() if value is not None})
        if context is not None:
            body["context"] = context.model_dump(exclude_none=True)
        auth = PrincipalAuth(
            service_principal(brand_id, on_behalf_of), self._secret.get_secret_value(), SERVICE
        )
        try:
            response = await self._post(body, auth)
        except httpx.TimeoutException as exc:
            logger.warning("guidelines_timeout", brand_id=brand_id)
            raise GuidelinesUnavailableError(
                "the guidelines service did not answer in time; retry later",
                reason="guidelines_timeout",
            ) from exc
        except httpx.HTTPError as exc:
            logger.warning("guidelines_unreachable", brand_id=brand_id, error=type(exc).__name__)
            raise GuidelinesUnavailableError(
                "the guidelines service cannot be reached; retry later",
                reason="guidelines_unreachable",
            ) from exc
        return _answer(brand_id, response)

    async def _post(self, body: dict[str, Any], auth: PrincipalAuth) -> httpx.Response:
        try:
            return await self._client.post(CHECK_PATH, json=body, auth=auth)
        except STALE_CONNECTION_ERRORS:
            # A pooled connection the server closed as it was reused: the check never ran, so
            # once more on a new connection.
            return await self._client.post(CHECK_PATH, json=body, auth=auth)


def _answer(brand_id: str, response: httpx.Response) -> GuidelineCheck:
    status = response.status_code
    if status == 200:
        try:
            return GuidelineCheck.model_validate_json(response.content)
        except ValidationError as exc:
            logger.warning("guidelines_bad_answer", brand_id=brand_id)
            raise GuidelinesUnavailableError(
                "the guidelines service answered something that is not a check",
                reason="guidelines_bad_answer",
            ) from exc
    if status == 404:
        raise NoGuidelineError(brand_id)
    if status in (400, 413, 422):
        raise GuidelineCheckRefusedError(
            "the guideline check refused the text", upstream=_problem(response)
        )
    # 401/403 (a secret that differs between the services), 429, 5xx: not the caller's fault.
    logger.warning("guidelines_failed", brand_id=brand_id, status=status)
    raise GuidelinesUnavailableError(
        f"the guidelines service answered {status}; retry later",
        reason="guidelines_failed",
        upstream_status=status,
    )


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"status": response.status_code}
    return body if isinstance(body, dict) else {"status": response.status_code}
