"""HTTP models of the team API: departments and their calendars, members, social accounts and
access grants, the responsibilities matrix, SLA policies."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.routing.intents import Intent
from shared.events.cases import Priority
from shared.events.interactions import Channel
from shared.limits import InputModel
from shared.pagination import CursorPage

BrandId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
DepartmentKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(pattern=r"^\w[\w:./-]{0,63}$")]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A plausible address (one @, a dot in the domain): mail is never sent from here, the address
# only names the person, so no deliverability check.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
# `[start, end]` (a list, not a tuple: OpenAPI tools read `items` better than `prefixItems`).
Span = Annotated[
    list[Annotated[str, StringConstraints(max_length=8)]], Field(min_length=2, max_length=2)
]
WeeklyHours = dict[str, list[Span]]

WEEKLY_HOURS_DESCRIPTION = (
    "Openings per weekday (`monday`..`sunday`) as `[start, end]` pairs of local `HH:MM` times "
    "in `timezone` (`24:00` is midnight); a weekday left out is closed. Openings may not "
    "overlap; some day must have one (422 naming the field otherwise)."
)
MAX_CAPACITY = 1000


class Role(StrEnum):
    agent = "agent"
    lead = "lead"
    reviewer = "reviewer"


class Availability(StrEnum):
    available = "available"
    away = "away"
    offline = "offline"


OFFICE_HOURS: dict[str, Any] = {
    "monday": [["09:00", "14:00"], ["15:00", "18:00"]],
    "tuesday": [["09:00", "14:00"], ["15:00", "18:00"]],
    "wednesday": [["09:00", "14:00"], ["15:00", "18:00"]],
    "thursday": [["09:00", "14:00"], ["15:00", "18:00"]],
    "friday": [["09:00", "15:00"]],
}


# ------------------------------------------------------------------------------ calendars


class Calendar(InputModel):
    """A department's business hours, on which its SLA clocks run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Madrid",
                    "weekly_hours": OFFICE_HOURS,
                    "holidays": ["2026-12-25", "2027-01-01", "2027-01-06"],
                }
            ]
        },
    )

    timezone: TimeZone = Field(description="IANA time zone, e.g. Europe/Madrid")
    weekly_hours: WeeklyHours = Field(description=WEEKLY_HOURS_DESCRIPTION, max_length=7)
    holidays: list[date] = Field(default_factory=list, max_length=400)


# ---------------------------------------------------------------------------- departments


class DepartmentCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "key": "logistics",
                    "name_es": "Logística",
                    "name_en": "Logistics",
                    "calendar": {"timezone": "Europe/Madrid", "weekly_hours": OFFICE_HOURS},
                }
            ]
        },
    )

    brand_id: BrandId
    key: DepartmentKey = Field(description="Stable key used by rules, cases and reports")
    name_es: Name
    name_en: Name
    calendar: Calendar | None = Field(
        default=None, description="Business hours; office hours in UTC when absent"
    )
    enabled: bool = True


class DepartmentUpdate(InputModel):
    """Every field optional; a disabled department receives no new cases."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name_es": "Atención al cliente", "enabled": True}]},
    )

    name_es: Name | None = None
    name_en: Name | None = None
    calendar: Calendar | None = None
    enabled: bool | None = None


class DepartmentRead(BaseModel):
    id: str
    brand_id: str
    key: str
    name_es: str
    name_en: str
    calendar: Calendar
    enabled: bool
    member_count: int = Field(description="Members of the department this API key may see")
    created_at: datetime
    updated_at: datetime


class DepartmentList(BaseModel):
    items: list[DepartmentRead]


class DepartmentCalendar(BaseModel):
    """One department's calendar, as `GET /v1/calendars` lists them."""

    department_id: str
    department: str = Field(description="The department's key")
    name_es: str
    name_en: str
    enabled: bool
    calendar: Calendar


class CalendarList(BaseModel):
    brand_id: str
    items: list[DepartmentCalendar]


# -------------------------------------------------------------------------------- members


class MemberCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "name": "Lucía Martín",
                    "email": "lucia.martin@acme.example",
                    "role": "agent",
                    "departments": ["customer_service"],
                    "skills": ["returns", "billing"],
                    "languages": ["es", "en"],
                    "capacity": 8,
                    "timezone": "Europe/Madrid",
                    "weekly_hours": OFFICE_HOURS,
                    "holidays": ["2026-12-24"],
                    "availability": "available",
                }
            ]
        },
    )

    brand_id: BrandId
    name: Name
    email: Email
    role: Role = Role.agent
    departments: list[DepartmentKey] = Field(min_length=1, max_length=20)
    skills: list[Tag] = Field(default_factory=list, max_length=100)
    languages: list[Lang] = Field(min_length=1, max_length=20)
    capacity: int = Field(
        default=5, ge=1, le=MAX_CAPACITY, description="Open cases at once (1 to 1,000)"
    )
    timezone: TimeZone = "UTC"
    weekly_hours: WeeklyHours | None = Field(
        default=None,
        max_length=7,
        description=WEEKLY_HOURS_DESCRIPTION + " Absent: always inside working hours.",
    )
    holidays: list[date] = Field(default_factory=list, max_length=400)
    availability: Availability = Availability.offline


class MemberUpdate(InputModel):
    """Every field optional; `departments` replaces the member's departments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"capacity": 10, "skills": ["returns", "vip"]}]},
    )

    name: Name | None = None
    email: Email | None = None
    role: Role | None = None
    departments: list[DepartmentKey] | None = Field(default=None, min_length=1, max_length=20)
    skills: list[Tag] | None = Field(default=None, max_length=100)
    languages: list[Lang] | None = Field(default=None, min_length=1, max_length=20)
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    timezone: TimeZone | None = None
    weekly_hours: WeeklyHours | None = Field(default=None, max_length=7)
    holidays: list[date] | None = Field(default=None, max_length=400)


class AvailabilityUpdate(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"availability": "away"}]}
    )

    availability: Availability


class MemberRead(BaseModel):
    id: str
    brand_id: str
    name: str
    email: str
    role: Role
    departments: list[str]
    skills: list[str]
    languages: list[str]
    capacity: int
    timezone: str
    weekly_hours: WeeklyHours | None
    holidays: list[date]
    availability: Availability
    availability_changed_at: datetime
    open_cases: int = Field(description="Open cases assigned now (kept by case assignment)")
    last_assigned_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MemberPage(CursorPage[MemberRead]):
    total: int = Field(
        default=0, description="Members matching the filters that this API key may see"
    )


class MemberBrief(BaseModel):
    id: str
    name: str
    role: Role
    availability: Availability
    languages: list[str]


# ------------------------------------------------------------------- accounts and grants


class AccountCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "platform": "meta",
                    "channel": "instagram",
                    "external_account_id": "17841400000000000",
                    "name": "@acme_es",
                }
            ]
        },
    )

    brand_id: BrandId
    platform: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,19}$")] = Field(
        description="The ingest connection's platform (meta, x, ...)"
    )
    channel: Channel
    external_account_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The platform's account id, as in the ingest connection's `account_ids`"
    )
    connection_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    name: Name
    enabled: bool = True


class AccountUpdate(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "@acme_es", "enabled": False}]}
    )

    name: Name | None = None
    connection_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    enabled: bool | None = None


class AccountRead(BaseModel):
    id: str
    brand_id: str
    platform: str
    channel: Channel
    external_account_id: str
    connection_id: str | None
    name: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class AccountPage(CursorPage[AccountRead]):
    pass


class GrantUpdate(InputModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"can_read": True, "can_reply": True}]}
    )

    can_read: bool = True
    can_reply: bool = False


class GrantRead(BaseModel):
    account_id: str
    member_id: str
    member_name: str
    can_read: bool
    can_reply: bool
    updated_at: datetime


class GrantList(BaseModel):
    items: list[GrantRead]


# ------------------------------------------------------------- the responsibilities matrix


class OwnerRead(BaseModel):
    key: str
    name_es: str
    name_en: str
    enabled: bool


class ResponsibilityRead(BaseModel):
    intent: Intent
    department: OwnerRead | None = Field(description="null: nobody owns it (the case is closed)")
    members: list[MemberBrief] = Field(
        description="Members of the owning department this API key may see"
    )


class ResponsibilitiesRead(BaseModel):
    brand_id: str
    items: list[ResponsibilityRead]


class ResponsibilitiesUpdate(InputModel):
    """Intents named here get the given department (null: nobody, closed); others keep theirs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "responsibilities": {"feedback_idea": "sales", "praise": "marketing"},
                }
            ]
        },
    )

    brand_id: BrandId
    responsibilities: dict[Intent, DepartmentKey | None] = Field(min_length=1)


# ---------------------------------------------------------------------------- SLA policies

Seconds = Annotated[int, Field(ge=1, le=366 * 24 * 3600)]
ReassignMinutes = Annotated[
    int,
    Field(
        ge=1,
        le=7 * 24 * 60,
        description="Give an open case to someone else when its assignee has not acted (a reply "
        "sent, or the case set pending) this many minutes after getting it; null: never",
    ),
]


class SlaPolicyCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "department": "customer_service",
                    "priority": "high",
                    "first_response_seconds": 3600,
                    "next_response_seconds": 7200,
                    "resolution_seconds": 86400,
                    "business_hours": True,
                    "reassign_after_minutes": 30,
                }
            ]
        },
    )

    brand_id: BrandId
    department: DepartmentKey
    priority: Priority
    first_response_seconds: Seconds | None = None
    next_response_seconds: Seconds | None = None
    resolution_seconds: Seconds | None = None
    business_hours: bool = Field(
        default=True, description="Count in the department's business hours (else wall clock)"
    )
    reassign_after_minutes: ReassignMinutes | None = None


class SlaPolicyUpdate(InputModel):
    """Every field optional; give null to drop a target."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"first_response_seconds": 1800}]}
    )

    first_response_seconds: Seconds | None = None
    next_response_seconds: Seconds | None = None
    resolution_seconds: Seconds | None = None
    business_hours: bool | None = None
    reassign_after_minutes: ReassignMinutes | None = None


class SlaPolicyRead(BaseModel):
    id: str
    brand_id: str
    department: str
    priority: Priority
    first_response_seconds: int | None
    next_response_seconds: int | None
    resolution_seconds: int | None
    business_hours: bool
    reassign_after_minutes: int | None
    created_at: datetime
    updated_at: datetime


class SlaPolicyPage(CursorPage[SlaPolicyRead]):
    pass
