"""What a brand starts with (DESIGN.md, Team model): departments, who owns which intent, rules.

Every default is editable per brand; these are what routing creates on a brand's first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from services.routing.intents.definitions import Intent
from services.routing.rules.models import RuleActions, RuleConditions, RuleSpec
from shared.events.cases import Priority
from shared.events.interactions import SentimentLabel


@dataclass(frozen=True, slots=True)
class DefaultDepartment:
    slug: str
    name_en: str
    name_es: str
    description_en: str
    description_es: str

    def name(self, lang: str = "en") -> str:
        return self.name_es if lang == "es" else self.name_en


DEFAULT_DEPARTMENTS: tuple[DefaultDepartment, ...] = (
    DefaultDepartment(
        "marketing",
        "Marketing",
        "Marketing",
        "Community: conversation, praise and ideas.",
        "Comunidad: conversación, elogios e ideas.",
    ),
    DefaultDepartment(
        "customer_service",
        "Customer service",
        "Atención al cliente",
        "Complaints, requests and questions.",
        "Quejas, solicitudes y preguntas.",
    ),
    DefaultDepartment(
        "sales",
        "Sales",
        "Ventas",
        "Customers who want to buy.",
        "Clientes que quieren comprar.",
    ),
    DefaultDepartment(
        "pr",
        "Public relations",
        "Relaciones públicas",
        "Press and crises.",
        "Prensa y crisis.",
    ),
    DefaultDepartment(
        "corporate_comms",
        "Corporate communications",
        "Comunicación corporativa",
        "Investors and partners.",
        "Inversores y socios.",
    ),
    DefaultDepartment(
        "hr",
        "Human resources",
        "Recursos humanos",
        "Job seekers and employees; its cases are visible only to HR.",
        "Candidatos y empleados; sus casos solo los ve RR. HH.",
    ),
    DefaultDepartment(
        "legal",
        "Legal",
        "Legal",
        "Reviews replies that need it.",
        "Revisa las respuestas que lo necesitan.",
    ),
)

DEFAULT_DEPARTMENT_SLUGS: tuple[str, ...] = tuple(d.slug for d in DEFAULT_DEPARTMENTS)

# Intent → owning department (None: closed without an owner).
DEFAULT_RESPONSIBILITIES: MappingProxyType[str, str | None] = MappingProxyType(
    {
        "complaint": "customer_service",
        "service_request": "customer_service",
        "question": "customer_service",
        "purchase_intent": "sales",
        "press_inquiry": "pr",
        "crisis": "pr",
        "investor_relations": "corporate_comms",
        "partnership": "corporate_comms",
        "job_inquiry": "hr",
        "employee_matter": "hr",
        "praise": "marketing",
        "feedback_idea": "marketing",
        "other": "marketing",
        "spam": None,
    }
)

# Followers from which a negative post is a reputational risk for PR.
LARGE_REACH_FOLLOWERS = 10_000

# Specific enough that an ordinary complaint ("esto es una estafa") does not trip them.
CRISIS_WORDS: tuple[str, ...] = (
    # es
    "boicot",
    "intoxicación",
    "intoxicados",
    "heridos",
    "muertos",
    "retirada del mercado",
    "demanda colectiva",
    "escándalo",
    "filtración de datos",
    "racismo",
    "discriminación",
    "acoso",
    "incendio",
    "explosión",
    "huelga",
    # en
    "boycott",
    "food poisoning",
    "injured",
    "product recall",
    "class action",
    "lawsuit",
    "scandal",
    "data breach",
    "racism",
    "discrimination",
    "harassment",
    "explosion",
)


def _rule(
    name: str,
    position: int,
    conditions: RuleConditions,
    actions: RuleActions,
    *,
    stop: bool = False,
) -> RuleSpec:
    return RuleSpec(name=name, position=position, stop=stop, conditions=conditions, actions=actions)


# Spam first (and it stops): a confident spam post never reaches PR through its words.
DEFAULT_RULES: tuple[RuleSpec, ...] = (
    _rule(
        "Spam → closed / Spam → cerrado",
        10,
        RuleConditions(intents=[Intent.spam], min_intent_confidence=0.8),
        RuleActions(close=True, priority=Priority.low, tags=["spam"]),
        stop=True,
    ),
    _rule(
        "Crisis words → PR, urgent / Palabras de crisis → RR. PP., urgente",
        20,
        RuleConditions(keywords=list(CRISIS_WORDS)),
        RuleActions(
            department="pr",
            priority=Priority.urgent,
            require_approval=True,
            notify=True,
            tags=["crisis"],
        ),
    ),
    _rule(
        "Crisis intent → PR, urgent / Intención de crisis → RR. PP., urgente",
        30,
        RuleConditions(intents=[Intent.crisis]),
        RuleActions(
            department="pr",
            priority=Priority.urgent,
            require_approval=True,
            notify=True,
            tags=["crisis"],
        ),
    ),
    _rule(
        "Negative, large reach → PR / Negativo y gran alcance → RR. PP.",
        40,
        RuleConditions(
            sentiment_labels=[SentimentLabel.negative], min_followers=LARGE_REACH_FOLLOWERS
        ),
        RuleActions(
            department="pr",
            priority=Priority.high,
            require_approval=True,
            tags=["large_reach"],
        ),
    ),
    _rule(
        "Job questions → HR / Preguntas de empleo → RR. HH.",
        50,
        RuleConditions(intents=[Intent.job_inquiry, Intent.employee_matter]),
        RuleActions(department="hr"),
    ),
    _rule(
        "Purchase intent → sales / Intención de compra → ventas",
        60,
        RuleConditions(intents=[Intent.purchase_intent]),
        RuleActions(department="sales", priority=Priority.high, tags=["lead"]),
    ),
)
