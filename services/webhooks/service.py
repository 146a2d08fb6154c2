"""Webhooks' rules: endpoints (URL and filter checks, brand limits, owner limits, secrets and
their rotation), the delivery log, retries and replays. No FastAPI or Kafka here; the request
owns the transaction (flush only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog
from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from services.webhooks import repository
from services.webhooks.delivery.directory import owner_of, signer_of
from services.webhooks.delivery.sender import AttemptResult, Sender
from services.webhooks.exceptions import (
    DeliveryNotFoundError,
    EndpointNotFoundError,
    InvalidEndpointError,
    ReplayTooLargeError,
)
from services.webhooks.filters import (
    PING_TYPE,
    Audience,
    FilterError,
    deliverable_types,
    matches,
    may_receive,
    validate_patterns,
)
from services.webhooks.models import Attempt, Delivery, Endpoint
from services.webhooks.schemas import EndpointCreate, EndpointUpdate, ReplayRequest
from services.webhooks.signing import SecretBox, event_body, new_secret
from services.webhooks.ssrf import Resolver, UrlError
from shared.auth import Principal, ensure_brand_writable
from shared.ids import random_uuid

logger = structlog.get_logger("socialcare.webhooks")

MAX_ATTEMPTS_SHOWN = 100


async def check_url(url: str, resolver: Resolver) -> str:
    """The URL if deliveries may go there (resolved and checked now); else 422."""
    try:
        await resolver.target(url)
    except UrlError as exc:
        raise InvalidEndpointError(exc.detail, field="url", reason=exc.reason) from exc
    return url


def check_patterns(patterns: Sequence[str]) -> list[str]:
    try:
        return validate_patterns(patterns)
    except FilterError as exc:
        raise InvalidEndpointError(
            f"{exc.pattern!r} is not a deliverable event type or prefix",
            field="event_types",
            reason=exc.reason,
            valid_event_types=exc.valid,
        ) from exc


def check_brands(principal: Principal, brand_ids: Sequence[str] | None) -> list[str] | None:
    """The endpoint's brand filter: within the key's brands (403 otherwise); a key limited to
    brands gets its own brands when it names none."""
    if brand_ids is None:
        return sorted(principal.brands) if principal.brands is not None else None
    cleaned = sorted({brand.strip() for brand in brand_ids})
    if not cleaned or any(not brand or len(brand) > 100 for brand in cleaned):
        raise InvalidEndpointError(
            "brand_ids must be non-empty brand ids", field="brand_ids", reason="invalid_brand_id"
        )
    for brand in cleaned:
        ensure_brand_writable(principal, brand, field="brand_ids")
    return cleaned


def _stamp_owner(endpoint: Endpoint, principal: Principal) -> None:
    """The endpoint gets what the key that last configured it may see: a key that could not
    see HR cases cannot point an HR endpoint elsewhere and keep receiving them."""
    endpoint.owner_key_id = principal.key_id
    endpoint.owner_admin = principal.is_admin
    endpoint.owner_departments = (
        sorted(principal.departments) if principal.departments is not None else None
    )
    endpoint.owner_brands = sorted(principal.brands) if principal.brands is not None else None


async def create_endpoint(
    session: AsyncSession,
    principal: Principal,
    data: EndpointCreate,
    *,
    resolver: Resolver,
    box: SecretBox,
) -> tuple[Endpoint, str]:
    """The new endpoint and its secret (in clear, for this answer only)."""
    patterns = check_patterns(data.event_types)
    brand_ids = check_brands(principal, data.brand_ids)
    url = await check_url(data.url, resolver)
    secret = new_secret()
    now = datetime.now(UTC)
    endpoint = Endpoint(
        id=random_uuid(),
        url=url,
        description=data.description,
        event_types=patterns,
        brand_ids=brand_ids,
        enabled=data.enabled,
        disabled_reason=None if data.enabled else "manual",
        rate_limit_per_second=data.rate_limit_per_second,
        secret_encrypted=box.seal(secret),
        created_at=now,
        updated_at=now,
    )
    _stamp_owner(endpoint, principal)
    await repository.add_endpoint(session, endpoint)
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str, *, lock: bool = False
) -> Endpoint:
    endpoint = await repository.get_endpoint(session, endpoint_id, principal.brands, lock=lock)
    if endpoint is None:
        raise EndpointNotFoundError(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def list_endpoints(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int
) -> Sequence[Endpoint]:
    return await repository.list_endpoints(session, principal.brands, after=cursor, limit=limit)


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    data: EndpointUpdate,
    *,
    resolver: Resolver,
) -> Endpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    fields = data.model_fields_set
    if "event_types" in fields and data.event_types is not None:
        endpoint.event_types = check_patterns(data.event_types)
    if "brand_ids" in fields:
        endpoint.brand_ids = check_brands(principal, data.brand_ids)
    if "url" in fields and data.url is not None:
        endpoint.url = await check_url(data.url, resolver)
    if "description" in fields and data.description is not None:
        endpoint.description = data.description
    if "rate_limit_per_second" in fields:
        endpoint.rate_limit_per_second = data.rate_limit_per_second
    if "enabled" in fields and data.enabled is not None:
        if data.enabled and not endpoint.enabled:
            endpoint.failing_since = None  # a fresh start: five more days before disabling
        endpoint.enabled = data.enabled
        endpoint.disabled_reason = None if data.enabled else "manual"
    _stamp_owner(endpoint, principal)
    endpoint.updated_at = datetime.now(UTC)
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, principal: Principal, endpoint_id: str) -> None:
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    await repository.delete_endpoint(session, endpoint)


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    *,
    overlap_seconds: int,
    box: SecretBox,
) -> tuple[Endpoint, str]:
    """A new secret; the one it replaces keeps signing for `overlap_seconds` (both signatures
    in `webhook-signature`), so receivers switch without losing a delivery."""
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    now = datetime.now(UTC)
    secret = new_secret()
    if overlap_seconds > 0:
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = now + timedelta(seconds=overlap_seconds)
    else:
        endpoint.previous_secret_encrypted = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_encrypted = box.seal(secret)
    _stamp_owner(endpoint, principal)
    endpoint.updated_at = now
    await session.flush()
    return endpoint, secret


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    *,
    status: str | None,
    event_type: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Delivery]:
    await get_endpoint(session, principal, endpoint_id)
    return await repository.list_deliveries(
        session, endpoint_id, status=status, event_type=event_type, before=before, limit=limit
    )


async def get_delivery(
    session: AsyncSession, principal: Principal, endpoint_id: str, delivery_id: str
) -> tuple[Delivery, Sequence[Attempt]]:
    await get_endpoint(session, principal, endpoint_id)
    delivery = await repository.get_delivery(session, endpoint_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFoundError(f"no delivery {delivery_id} for this endpoint")
    return delivery, await repository.attempts_of(session, delivery_id, MAX_ATTEMPTS_SHOWN)


async def retry_delivery(
    session: AsyncSession, principal: Principal, endpoint_id: str, delivery_id: str
) -> Delivery:
    """Send again now, with a fresh schedule and the same `webhook-id`."""
    await get_endpoint(session, principal, endpoint_id)
    delivery = await repository.get_delivery(session, endpoint_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFoundError(f"no delivery {delivery_id} for this endpoint")
    await repository.reschedule(session, delivery, datetime.now(UTC))
    return delivery


async def replay(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    data: ReplayRequest,
    *,
    max_events: int,
) -> int:
    """Deliver again every stored event of the range that the endpoint wants now (its filter,
    brands and owner key), with the `webhook-id` it was first delivered with (the event id),
    so receivers that deduplicate drop what they already have; the number scheduled."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if data.until <= data.since:
        raise InvalidEndpointError("until must be after since", field="until", reason="empty_range")
    narrower = check_patterns(data.event_types) if data.event_types else None
    events = await repository.events_between(session, data.since, data.until, max_events + 1)
    if len(events) > max_events:
        raise ReplayTooLargeError(
            f"the range holds more than {max_events} events: replay a shorter one",
            field="until",
            reason="too_many_events",
            limit=max_events,
        )
    owner = owner_of(endpoint)
    brands = frozenset(endpoint.brand_ids) if endpoint.brand_ids is not None else None
    wanted = [
        event
        for event in events
        if matches(endpoint.event_types, event.type)
        and (narrower is None or matches(narrower, event.type))
        and may_receive(
            owner,
            brands,
            Audience(event.brand_id, event.department, event.type.startswith("interaction.")),
        )
    ]
    await repository.reschedule_events(
        session, endpoint.id, wanted, datetime.now(UTC), [random_uuid() for _ in wanted]
    )
    return len(wanted)


async def reseal_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Seal again with the current key every endpoint secret sealed with an older one (after
    `secrets_key` is set, the key derived from the internal secret); the number resealed.
    Secrets no key opens are left as they are (logged when loaded)."""
    count = 0
    for endpoint in await repository.all_endpoints(session):
        for field in ("secret_encrypted", "previous_secret_encrypted"):
            sealed: bytes | None = getattr(endpoint, field)
            if sealed is None:
                continue
            try:
                if box.stale(sealed):
                    setattr(endpoint, field, box.reseal(sealed))
                    count += 1
            except InvalidToken:
                continue
    if count:
        await session.flush()
        logger.info("webhook_secrets_resealed", count=count)
    return count


def event_types() -> list[str]:
    return deliverable_types()


async def ping(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    *,
    sender: Sender,
    box: SecretBox,
) -> AttemptResult:
    """Send a signed `webhook.ping` now and answer how the receiver took it (not logged)."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    now = datetime.now(UTC)
    data = json.dumps({"endpoint_id": endpoint.id}).encode()
    body = event_body(PING_TYPE, now, data)
    return await sender.send(
        endpoint.url, signer_of(endpoint, box, now), random_uuid(), body, pool=endpoint.id
    )
