"""HTTP models of the rules API: a stored rule is the rule engine's RuleSpec plus its id, brand
and version; `POST /v1/rules/test` takes an interaction and answers the decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.routing.intents import Intent
from services.routing.rules import RuleActions, RuleConditions, RuleSpec
from shared.events.cases import Priority
from shared.events.interactions import Author, Channel, Flags, InteractionKind, Metrics, Sentiment
from shared.limits import InputModel
from shared.pagination import CursorPage

BrandId = Annotated[str, StringConstraints(min_length=1, max_length=100)]

RULE_EXAMPLES: dict[str, dict[str, Any]] = {
    "vip-negative": {
        "summary": "Negative posts of verified authors → PR, high, with approval",
        "value": {
            "brand_id": "acme",
            "name": "Verificados negativos → RR. PP. / Verified negative → PR",
            "position": 35,
            "conditions": {"sentiment_labels": ["negative"], "verified": True},
            "actions": {"department": "pr", "priority": "high", "require_approval": True},
        },
    },
    "keywords-es": {
        "summary": "Spanish refund words → customer service, skill `billing`",
        "value": {
            "brand_id": "acme",
            "name": "Reembolsos / Refunds",
            "position": 70,
            "conditions": {"languages": ["es"], "keywords": ["reembolso", "devolución"]},
            "actions": {"department": "customer_service", "skills_required": ["billing"]},
        },
    },
}


RULE_SPEC_EXAMPLES: dict[str, dict[str, Any]] = {
    name: {
        "summary": example["summary"],
        "value": {k: v for k, v in example["value"].items() if k != "brand_id"},
    }
    for name, example in RULE_EXAMPLES.items()
}


class RuleCreate(RuleSpec):
    """A new rule of a brand (`position`: lower runs first)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [RULE_EXAMPLES["vip-negative"]["value"]]}
    )

    brand_id: BrandId


class RulePatch(InputModel):
    """Move, rename, enable or disable a rule without resending it (the version bumps)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"enabled": False}, {"position": 5}]}
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | (
        None
    ) = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    enabled: bool | None = None
    stop: bool | None = None


class RuleRead(BaseModel):
    id: str
    brand_id: str
    version: int = Field(description="Grows by one on every change")
    name: str
    position: int
    enabled: bool
    stop: bool
    conditions: RuleConditions
    actions: RuleActions
    created_at: datetime
    updated_at: datetime


class RulePage(CursorPage[RuleRead]):
    pass


class SampleInteraction(InputModel):
    """An interaction in the shape ingest publishes; everything but the text is optional."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.other
    kind: InteractionKind = InteractionKind.comment
    connection_id: str | None = Field(default=None, max_length=36)
    account_id: str | None = Field(
        default=None,
        max_length=200,
        description="The platform account it reached (as in the connection's account_ids)",
    )
    author: Author = Field(default_factory=Author)
    text: str = Field(default="", max_length=65_536)
    lang: str | None = Field(default=None, max_length=8)
    sentiment: Sentiment | None = None
    created_at: datetime | None = Field(default=None, description="Default: now")
    metrics: Metrics = Field(default_factory=Metrics)
    flags: Flags = Field(default_factory=Flags)


class RuleTestRequest(InputModel):
    model_config = ConfigDict(extra="forbid")

    brand_id: BrandId
    interaction: SampleInteraction
    intent: Intent | None = Field(
        default=None, description="Skip classification and take this intent (confidence 1)"
    )
    vip: bool = False
    known_author: bool = False
    rules: list[RuleSpec] | None = Field(
        default=None,
        max_length=500,
        description="Test these rules instead of the brand's stored ones (nothing is saved)",
    )
    lang: str | None = Field(
        default=None,
        pattern=r"^(es|en)$",
        description="Language of the explanation texts; both when absent",
    )


RULE_TEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "es-complaint": {
        "summary": "Spanish complaint of an author with a large reach",
        "value": {
            "brand_id": "acme",
            "interaction": {
                "channel": "x",
                "kind": "mention",
                "text": "@acme el pedido llegó roto y nadie responde. Vergüenza.",
                "author": {"handle": "marta_rg", "followers": 48000},
                "sentiment": {"label": "negative", "score": -0.8},
            },
        },
    },
    "en-job": {
        "summary": "English job question, explanation in English",
        "value": {
            "brand_id": "acme",
            "interaction": {
                "channel": "linkedin",
                "text": "Hi! Are you hiring junior developers in Madrid? How do I apply?",
            },
            "lang": "en",
        },
    },
}


class IntentResult(BaseModel):
    intent: Intent
    confidence: float
    lang: str | None
    source: str = Field(description="`classified`, or `given` in the request")


class MatchedRuleRead(BaseModel):
    id: str | None = Field(description="null for a rule this API key may not see")
    version: int | None
    name: str


class ExplanationRead(BaseModel):
    rule_id: str | None
    matched: bool | None
    code: str
    text: str | None = None
    en: str | None = None
    es: str | None = None


class DecisionRead(BaseModel):
    department: str | None
    department_source: str = Field(description="`rule`, `responsibilities` or `none`")
    priority: Priority
    tags: list[str]
    sla_policy_id: str | None
    require_approval: bool
    skills_required: list[str]
    notify: bool
    close: bool


class CandidateRead(BaseModel):
    member_id: str
    eligible: bool
    reasons: list[str]
    en: str
    es: str


class RuleTestResponse(BaseModel):
    intent: IntentResult
    account_id: str | None = Field(description="The brand's account the interaction reached")
    outside_working_hours: bool
    matched: list[MatchedRuleRead]
    decision: DecisionRead
    explanation: list[ExplanationRead]
    assignee: str | None = Field(description="Who would be assigned now (null: the queue)")
    candidates: list[CandidateRead] = Field(
        description="The department's members this key may see, and why each would or would "
        "not get the case"
    )
