"""HTTP models of guidelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.guidelines.engine import Blocker, CheckContext, GuidelineConfig, Violation
from shared.limits import InputModel
from shared.pagination import CursorPage


class GuidelineRead(BaseModel):
    brand_id: str
    version: int
    config: GuidelineConfig
    rule_count: int
    published_by: str
    created_at: datetime


class GuidelineVersionSummary(BaseModel):
    version: int
    rule_count: int
    packs: list[str]
    published_by: str
    created_at: datetime


class GuidelineVersionPage(CursorPage[GuidelineVersionSummary]):
    pass


class PackSummary(BaseModel):
    id: str
    title: str
    version: str
    rule_count: int
    languages: list[str]
    goals: dict[str, int]


CHECK_EXAMPLE: dict[str, Any] = {
    "brand_id": "acme",
    "channel": "x",
    "text": "Hola Marta, sentimos mucho el retraso. Escríbenos por DM con tu número de pedido.",
    "context": {
        "inbound_text": "Llevo dos semanas esperando mi pedido y nadie me responde",
        "inbound_sentiment": "negative",
        "intent": "complaint",
    },
}


class CheckRequest(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CHECK_EXAMPLE]})

    brand_id: str = Field(min_length=1, max_length=100)
    channel: str | None = Field(default=None, max_length=30)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$", description="Detected if absent")
    text: str = Field(description="The reply to check (64 KiB of UTF-8 at most; 413 past that)")
    context: CheckContext | None = None
    reply_id: str | None = Field(default=None, max_length=36)
    case_id: str | None = Field(default=None, max_length=36)


CHECK_RESPONSE_EXAMPLE: dict[str, Any] = {
    "check_id": "0b6f1d0e-3c39-4a57-9a0e-2f7d8c1f5a11",
    "passed": False,
    "score": 45.0,
    "goal_scores": {"standards": 100.0, "tone": 55.0, "style": 90.0, "legal": 100.0, "hr": 100.0},
    "band": "poor",
    "violations": [
        {
            "rule_id": "standards.caps.shouting",
            "level": "warning",
            "goal": "tone",
            "message": "'LLEGA' en mayúsculas se lee como un grito.",
            "span": {"start": 21, "end": 26},
            "match": "LLEGA",
            "suggestions": [],
        }
    ],
    "skipped_rules": [],
    "blockers": [
        {
            "code": "score_below_minimum",
            "message": "La puntuación 45 no llega al mínimo de la marca (60).",
            "rule_ids": ["standards.caps.shouting", "standards.punctuation.multiple-exclamation"],
        }
    ],
    "lang": "es",
    "guideline_version": 3,
}


class CheckResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CHECK_RESPONSE_EXAMPLE]})

    check_id: str
    passed: bool = Field(
        description="Publishable under the brand's publish_policy (minimum score, blocking "
        "levels); when false, blockers says why"
    )
    score: float = Field(description="0-100 overall, Acrolinx-style")
    goal_scores: dict[str, float]
    band: str
    violations: list[Violation]
    skipped_rules: list[str]
    blockers: list[Blocker] = Field(
        default_factory=list, description="Why the reply is not publishable (empty if passed)"
    )
    lang: str
    guideline_version: int


class BatchItem(InputModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    channel: str | None = Field(default=None, max_length=30)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    context: CheckContext | None = None


class BatchCheckRequest(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "brand_id": "acme",
                    "channel": "x",
                    "items": [
                        {"text": "Hola Marta, sentimos el retraso. ¿Nos escribes por DM?"},
                        {"text": "Thanks Sam! Glad the new app helps.", "lang": "en"},
                    ],
                }
            ]
        },
    )

    brand_id: str = Field(min_length=1, max_length=100)
    channel: str | None = Field(default=None, max_length=30)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    items: list[BatchItem] = Field(min_length=1)


class BatchCheckResponse(BaseModel):
    guideline_version: int
    passed: int
    failed: int
    results: list[CheckResponse]


class ValeStyleImport(InputModel):
    """A Vale style folder as JSON: file name → the rule's YAML."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "style": "Acme",
                    "files": {
                        "Hedging.yml": "extends: existence\nmessage: \"Avoid '%s'.\"\n"
                        "level: warning\ntokens:\n  - obviously\n  - obviamente\n"
                    },
                }
            ]
        },
    )

    style: str = Field(default="Vale", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
    files: dict[str, str] = Field(min_length=1, max_length=500)


class ValeImportResult(BaseModel):
    guideline: GuidelineRead
    imported: list[str] = Field(description="Ids of the rules imported as custom rules")
    skipped: list[str] = Field(description="Rules of kinds this engine does not run, and why")
