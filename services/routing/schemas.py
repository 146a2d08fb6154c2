"""HTTP models of routing's intents API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.routing.intents import Intent, describe_intents

SupportedLang = Literal["es", "en"]
TEXT_DESCRIPTION = "The post (64 KiB of UTF-8 at most: 413 past that; empty or whitespace: 422)."
LANG_DESCRIPTION = (
    "`es` or `en` (any other value: 422). Detected when absent; a post in another language is "
    "classified with its detected `lang` and a lower confidence."
)
INTENTS_DESCRIPTION = "Intents, and the boundary cases that decide between them:\n\n" + (
    describe_intents()
)

CLASSIFY_EXAMPLES: dict[str, dict[str, Any]] = {
    "es": {
        "summary": "Spanish: a question that is really a complaint",
        "value": {"text": "¿Xq nadie contesta?? Llevo 4 días esperando mi pedido", "lang": "es"},
    },
    "en": {
        "summary": "English: sarcasm",
        "value": {"text": "great, lost my luggage again 👏 thanks @airline"},
    },
    "es-negation": {
        "summary": "Spanish: negated purchase is a question",
        "value": {"text": "no quiero comprar todavía, solo saber si es compatible con el cargador"},
    },
    "other-language": {
        "summary": "Another language: classified, lang detected, lower confidence",
        "value": {"text": "Bonjour, je voudrais savoir où est ma commande, merci beaucoup"},
    },
}


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("the text is empty")
    return text


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description=TEXT_DESCRIPTION)
    lang: SupportedLang | None = Field(default=None, description=LANG_DESCRIPTION)

    _check_text = field_validator("text")(_not_blank)


class ScoredIntentRead(BaseModel):
    intent: Intent
    confidence: float = Field(ge=0, le=1)


class ClassifyResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "intent": "complaint",
                    "confidence": 0.81,
                    "lang": "es",
                    "alternatives": [{"intent": "question", "confidence": 0.06}],
                }
            ]
        }
    )

    intent: Intent = Field(description=INTENTS_DESCRIPTION)
    confidence: float = Field(ge=0, le=1)
    lang: str | None = Field(description="The language used: given, or detected (null: too short)")
    alternatives: list[ScoredIntentRead] = Field(description="Next likeliest intents, best first")


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description=TEXT_DESCRIPTION)
    lang: SupportedLang | None = Field(default=None, description=LANG_DESCRIPTION)

    _check_text = field_validator("text")(_not_blank)


BATCH_EXAMPLES: dict[str, dict[str, Any]] = {
    "es-en": {
        "summary": "Spanish and English posts in one call",
        "value": {
            "items": [
                {"text": "Soy periodista de El País, ¿podrían darnos una declaración?"},
                {"text": "Former employee here, still waiting on my last paycheck", "lang": "en"},
            ]
        },
    }
}


class BatchClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lang: SupportedLang | None = Field(default=None, description="Default for items without one")
    items: list[BatchItem] = Field(min_length=1, description="Up to 1,000 posts (413 past that)")


class BatchClassifyResponse(BaseModel):
    results: list[ClassifyResponse] = Field(description="One result per item, in order")


class IntentExampleRead(BaseModel):
    """One labelled example as exported (JSON lines: one object a line; CSV: these columns)."""

    id: str
    brand_id: str
    text: str
    intent: Intent
    previous_intent: Intent | None
    lang: str | None
    channel: str | None
    case_id: str | None
    labelled_by: str
    updated_at: str
