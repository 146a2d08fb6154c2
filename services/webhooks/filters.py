"""Which events go where: the deliverable event types, endpoint filters with wildcards, and
what an endpoint's owner key may see (brands, departments, HR). Pure: no database, no HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from shared.auth import Principal
from shared.events.registry import EVENT_TYPES
from shared.events.topics import PUBLIC_TOPICS

# Intents that make a case HR's whatever department holds it (DESIGN.md, Team model).
HR_INTENTS = frozenset({"job_inquiry", "employee_matter"})
HR = "hr"
# Types of this service's own (operator events such as endpoint.disabled) are not delivered.
OWN_SERVICE = "webhooks"
PING_TYPE = "webhook.ping"


def deliverable_types() -> list[str]:
    """Every event type on a public topic, in registry order (read at call time: contracts
    registered later are deliverable too)."""
    return [
        event.name
        for event in EVENT_TYPES.values()
        if event.topic in PUBLIC_TOPICS and event.owner != OWN_SERVICE
    ]


def deliverable_topics() -> list[str]:
    types = set(deliverable_types())
    return sorted({event.topic for event in EVENT_TYPES.values() if event.name in types})


class FilterError(ValueError):
    """A pattern that is malformed or matches no deliverable type."""

    def __init__(self, pattern: str, reason: str, valid: list[str]) -> None:
        super().__init__(f"{pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason
        self.valid = valid


def validate_patterns(patterns: Iterable[str]) -> list[str]:
    """Normalised, deduplicated patterns; FilterError for an unknown type or prefix."""
    known = deliverable_types()
    result: list[str] = []
    for raw in patterns:
        pattern = raw.strip()
        if pattern == "*":
            pass
        elif pattern.endswith(".*"):
            prefix = pattern[:-1]
            if "*" in prefix or not any(name.startswith(prefix) for name in known):
                raise FilterError(pattern, "unknown_event_type", known)
        elif pattern not in known:
            raise FilterError(pattern, "unknown_event_type", known)
        if pattern not in result:
            result.append(pattern)
    return result


def matches(patterns: Iterable[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Audience:
    """What one event is about, for visibility: its brand, and the department owning it."""

    brand_id: str | None
    department: str | None  # "hr" for an HR case
    brand_wide_raw: bool  # raw interactions: no department owns them yet (may be HR's)


def audience_of(event_type: str, key: str, data: BaseModel) -> Audience:
    brand_id = getattr(data, "brand_id", None)
    if not isinstance(brand_id, str):
        brand_id = key.split(":", 1)[0] or None
    department: str | None = None
    if event_type.startswith(("case.", "reply.")):
        # A reply belongs to its case's department: an HR case's replies are HR's too.
        department = getattr(data, "department", None)
        if getattr(data, "intent", None) in HR_INTENTS:
            department = HR
    return Audience(brand_id, department, event_type.startswith("interaction."))


def may_receive(owner: Principal, brand_ids: frozenset[str] | None, audience: Audience) -> bool:
    """Whether an endpoint (of `owner`, filtered to `brand_ids`) may get this event.

    The owner key's limits hold as they would on the API: another brand's events never, a
    case's only where its department is visible to the key (HR cases only to keys that may see
    HR), raw interactions only to keys without a department limit (README, Authentication)."""
    if audience.brand_id is not None:
        if not owner.allows_brand(audience.brand_id):
            return False
        if brand_ids is not None and audience.brand_id not in brand_ids:
            return False
    elif brand_ids is not None or owner.brands is not None:
        return False
    if audience.department is not None and not owner.may_see_department(audience.department):
        return False
    return not (audience.brand_wide_raw and owner.departments is not None and not owner.is_admin)
