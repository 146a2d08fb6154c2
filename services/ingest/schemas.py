"""HTTP models of ingest."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.ingest.platforms.json_values import EARLIEST_PLATFORM_TIME, PLATFORM_CLOCK_SKEW
from shared.events.interactions import (
    MAX_PLATFORM_ID,
    Author,
    Channel,
    Interaction,
    InteractionKind,
    Metrics,
)
from shared.limits import InputModel
from shared.pagination import CursorPage

# The brand's account ids on the platform (page, IG account, phone_number_id, X user id).
AccountId = Annotated[str, StringConstraints(max_length=MAX_PLATFORM_ID)]
# Ingest's connection ids are UUIDs (connections.id and interactions.connection_id).
CONNECTION_ID_LENGTH = 36


class Platform(StrEnum):
    meta = "meta"
    x = "x"


class ConnectionSecrets(BaseModel):
    """Platform secrets. Accepted on create and rotate, never returned or logged."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty secret signs nothing: refused here, not discovered at the first webhook.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("a secret may not be empty")
        if value is not None and len(value.get_secret_value()) > 1000:
            raise ValueError("a secret is at most 1,000 characters")
        return value

    app_secret: SecretStr | None = Field(default=None, description="Meta app secret")
    verify_token: SecretStr | None = Field(default=None, description="Meta webhook verify token")
    consumer_secret: SecretStr | None = Field(default=None, description="X consumer secret")
    client_secret: SecretStr | None = Field(default=None, description="X OAuth2 client secret")
    # Send tokens (services/ingest/sending): what replies go out with.
    page_access_token: SecretStr | None = Field(
        default=None,
        description="Meta Page access token: Page comment replies, Messenger, Instagram",
    )
    page_id: SecretStr | None = Field(
        default=None, description="The Facebook Page the Page access token belongs to"
    )
    whatsapp_token: SecretStr | None = Field(
        default=None, description="WhatsApp Cloud API access token (system user)"
    )
    whatsapp_phone_number_id: SecretStr | None = Field(
        default=None, description="WhatsApp Business phone number id replies are sent from"
    )
    x_user_token: SecretStr | None = Field(
        default=None, description="X OAuth 2.0 user access token (tweet.write, dm.write)"
    )

    def plain(self) -> dict[str, str]:
        return {
            name: value.get_secret_value()
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        }


REQUIRED_SECRETS = {
    Platform.meta: ("app_secret", "verify_token"),
    Platform.x: ("consumer_secret",),
}


class ConnectionCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "platform": "meta",
                    "name": "Acme España (Facebook + Instagram + WhatsApp)",
                    "account_ids": ["1234567890", "17841400000000000", "106540352242922"],
                    "secrets": {"app_secret": "<meta app secret>", "verify_token": "<token>"},
                    "default_lang": "es",
                }
            ]
        },
    )

    brand_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    platform: Platform
    name: str = Field(min_length=1, max_length=200)
    account_ids: list[AccountId] = Field(min_length=1, max_length=100)
    secrets: ConnectionSecrets
    default_lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")

    @model_validator(mode="after")
    def _secrets_for_platform(self) -> Self:
        missing = [
            name for name in REQUIRED_SECRETS[self.platform] if name not in self.secrets.plain()
        ]
        if missing:
            raise ValueError(f"a {self.platform.value} connection needs secrets: {missing}")
        return self


class ConnectionUpdate(InputModel):
    """Every field optional. New `secrets` rotate: the old ones stay valid for a grace period."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Facebook + Instagram (ES)",
                    "account_ids": ["448", "17841400008460056"],
                },
                {"secrets": {"app_secret": "the-new-app-secret"}},
            ]
        },
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    account_ids: list[AccountId] | None = Field(default=None, min_length=1, max_length=100)
    secrets: ConnectionSecrets | None = None
    default_lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")


class ConnectionRead(BaseModel):
    id: str
    brand_id: str
    platform: Platform
    name: str
    account_ids: list[str]
    default_lang: str | None
    secrets_set: list[str] = Field(description="Which secrets are stored (never their values)")
    previous_secrets_valid_until: datetime | None
    webhook_path: str
    created_at: datetime
    updated_at: datetime


class ConnectionPage(CursorPage[ConnectionRead]):
    pass


class InteractionIn(InputModel):
    """One item from a channel without webhooks (reviews, YouTube, TikTok, email, ...)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "channel": "google_reviews",
                    "kind": "review",
                    "external_id": "accounts/1/locations/2/reviews/abc",
                    "author": {"display_name": "Lucía G."},
                    "text": "Muy mala experiencia, el pedido llegó roto y nadie responde.",
                    "created_at": "2026-11-20T10:15:00Z",
                }
            ]
        },
    )

    brand_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    channel: Channel
    kind: InteractionKind
    external_id: str = Field(min_length=1, max_length=MAX_PLATFORM_ID)
    thread_external_id: str | None = Field(default=None, max_length=MAX_PLATFORM_ID)
    parent_external_id: str | None = Field(default=None, max_length=MAX_PLATFORM_ID)
    connection_id: str | None = Field(
        default=None, max_length=CONNECTION_ID_LENGTH, description="ingest's connection id"
    )
    url: str | None = Field(default=None, max_length=2000)
    author: Author = Field(default_factory=Author)
    text: str = Field(default="", max_length=64 * 1024)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    created_at: datetime
    metrics: Metrics = Field(default_factory=Metrics)

    @field_validator("author")
    @classmethod
    def _author_id_fits(cls, author: Author) -> Author:
        # Author is the event's model, which bounds nothing; the id is stored in columns of
        # MAX_PLATFORM_ID characters downstream (cases, kpi facts).
        if author.external_id is not None and len(author.external_id) > MAX_PLATFORM_ID:
            raise ValueError(
                f"author.external_id should have at most {MAX_PLATFORM_ID} characters"
                f" (a platform id), not {len(author.external_id)}"
            )
        return author

    @model_validator(mode="after")
    def _aware_time(self) -> Self:
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must carry a time zone (RFC 3339)")
        # The window platform times get: nothing before 2000, nothing over a day ahead.
        latest = datetime.now(UTC) + PLATFORM_CLOCK_SKEW
        if not EARLIEST_PLATFORM_TIME <= self.created_at <= latest:
            raise ValueError("created_at must lie between 2000-01-01 and a day from now")
        return self


class ItemOutcome(BaseModel):
    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class IntakeResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    items: list[ItemOutcome]


class InteractionPage(CursorPage[Interaction]):
    pass


class WebhookAck(BaseModel):
    """The delivery is durably accepted (on Kafka); workers deduplicate, enrich and publish."""

    accepted: bool = True
    delivery_id: str = Field(description="Id of the accepted delivery (its CloudEvent id)")
