"""HTTP models of guidelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.guidelines.engine import (
    Blocker,
    CheckContext,
    GuidelineConfig,
    PublishPolicy,
    Violation,
)
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


SHOUTED_REPLY_RESPONSE: dict[str, Any] = {
    "check_id": "0b6f1d0e-3c39-4a57-9a0e-2f7d8c1f5a11",
    "passed": False,
    "score": 26.0,
    "goal_scores": {"standards": 100.0, "tone": 35.0, "style": 91.0, "legal": 100.0, "hr": 100.0},
    "band": "poor",
    "violations": [
        {
            "rule_id": "standards.caps.shouted-reply",
            "level": "error",
            "goal": "tone",
            "message": "La respuesta está casi entera en mayúsculas (100 % de las letras): "
            "se lee como un grito.",
            "span": {"start": 0, "end": 47},
            "match": "HOLA MARTA!!! TU PEDIDO LLEGA MAÑANA!!! GRACIAS",
            "suggestions": [
                "Escríbela en minúsculas y deja las mayúsculas para el inicio de frase, los "
                "nombres y las siglas."
            ],
        },
        {
            "rule_id": "standards.caps.shouting",
            "level": "warning",
            "goal": "tone",
            "message": "'HOLA' en mayúsculas se lee como un grito.",
            "span": {"start": 0, "end": 4},
            "match": "HOLA",
            "suggestions": [],
        },
    ],
    "skipped_rules": [],
    "blockers": [
        {
            "code": "blocking_violation",
            "message": "Incumple 1 regla(s) de nivel error, que la marca no permite publicar.",
            "rule_ids": ["standards.caps.shouted-reply"],
        },
        {
            "code": "score_below_minimum",
            "message": "La puntuación 26 no llega al mínimo de la marca (60).",
            "rule_ids": [
                "standards.caps.shouted-reply",
                "standards.caps.shouting",
                "standards.es.opening-exclamation-mark",
                "standards.punctuation.multiple-exclamation",
                "style.es.exclamations",
            ],
        },
    ],
    "policy": {"min_score": 60.0, "blocking_levels": ["error"]},
    "lang": "es",
    "guideline_version": 3,
}
COMPETITOR_RESPONSE: dict[str, Any] = {
    "check_id": "5d2c7a40-8e0b-4f4e-a6d3-6b1f0c9e2a77",
    "passed": False,
    "score": 72.0,
    "goal_scores": {"standards": 100.0, "tone": 100.0, "style": 100.0, "legal": 72.0, "hr": 100.0},
    "band": "review",
    "violations": [
        {
            "rule_id": "legal.competitor-criticism",
            "level": "error",
            "goal": "legal",
            "message": "Never criticise or compare with a competitor (Globex): 'Globex'.",
            "span": {"start": 45, "end": 51},
            "match": "Globex",
            "suggestions": [],
        },
        {
            "rule_id": "legal.competitor-mention",
            "level": "suggestion",
            "goal": "legal",
            "message": "Avoid naming competitors in public replies: 'Globex'.",
            "span": {"start": 45, "end": 51},
            "match": "Globex",
            "suggestions": [],
        },
    ],
    "skipped_rules": [],
    "blockers": [
        {
            "code": "blocking_violation",
            "message": "Breaks 1 rule(s) at level error, which the brand does not publish.",
            "rule_ids": ["legal.competitor-criticism"],
        }
    ],
    "policy": {"min_score": 70.0, "blocking_levels": ["error", "warning"]},
    "lang": "en",
    "guideline_version": 4,
}
PASSED_RESPONSE: dict[str, Any] = {
    "check_id": "9a4e2b18-61f3-4c0d-8f57-3e2d1b0a6c95",
    "passed": True,
    "score": 97.0,
    "goal_scores": {"standards": 100.0, "tone": 100.0, "style": 97.0, "legal": 100.0, "hr": 100.0},
    "band": "good",
    "violations": [
        {
            "rule_id": "style.acronym-defined",
            "level": "suggestion",
            "goal": "style",
            "message": "Explica la sigla 'RMA' la primera vez, p. ej. 'número de "
            "identificación personal (PIN)'.",
            "span": {"start": 15, "end": 18},
            "match": "RMA",
            "suggestions": [],
        }
    ],
    "skipped_rules": [],
    "blockers": [],
    "policy": {"min_score": 60.0, "blocking_levels": ["error"]},
    "lang": "es",
    "guideline_version": 3,
}
CHECK_RESPONSE_EXAMPLE = SHOUTED_REPLY_RESPONSE
# The reply each example answers, and the guideline it was checked against (its tests rerun
# them): an example that drifts from what the engine says is caught.
CHECK_RESPONSE_EXAMPLE_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "shouted": ("HOLA MARTA!!! TU PEDIDO LLEGA MAÑANA!!! GRACIAS", {}),
    "competitor": (
        "Hi Sam, our plans are far more reliable than Globex, sorry for the wait.",
        {
            "competitors": [{"name": "Globex"}],
            "publish_policy": {"min_score": 70, "blocking_levels": ["error", "warning"]},
        },
    ),
    "passed": ("Hola Marta, tu RMA ya está aprobado. Escríbenos por DM si necesitas algo.", {}),
}
# Named examples of the check's answer, shown in the OpenAPI document of POST /check.
CHECK_RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "shouted": {
        "summary": "Not publishable: a reply in capitals (an error, and a score under 60)",
        "value": SHOUTED_REPLY_RESPONSE,
    },
    "competitor": {
        "summary": "Not publishable: criticism of a declared competitor (an error)",
        "value": COMPETITOR_RESPONSE,
    },
    "passed": {
        "summary": "Publishable under the default policy, with one suggestion",
        "value": PASSED_RESPONSE,
    },
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
        default_factory=list,
        description="Why the reply is not publishable, in the reply's language (empty if "
        "passed): score_below_minimum, blocking_violation, each with the rules behind it",
    )
    policy: PublishPolicy = Field(
        default_factory=PublishPolicy,
        description="The publish policy of the guideline version that decided 'passed'",
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
