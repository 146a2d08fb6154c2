"""The fourteen intents: what each one means, in English and Spanish, with its boundary cases.

This is the one place the definitions live: the API docs (`/v1/intents/*`) and the labelled set
(`data/`) follow it. When two intents fit, the boundary cases below decide; when a post mixes
intents, the one that asks the brand for the most urgent or most specific action wins
(crisis > press_inquiry > employee_matter > complaint > the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    complaint = "complaint"
    service_request = "service_request"
    question = "question"
    purchase_intent = "purchase_intent"
    feedback_idea = "feedback_idea"
    praise = "praise"
    press_inquiry = "press_inquiry"
    crisis = "crisis"
    job_inquiry = "job_inquiry"
    employee_matter = "employee_matter"
    investor_relations = "investor_relations"
    partnership = "partnership"
    spam = "spam"
    other = "other"


@dataclass(frozen=True, slots=True)
class IntentDefinition:
    intent: Intent
    en: str
    es: str
    boundaries: tuple[str, ...] = ()


DEFINITIONS: dict[Intent, IntentDefinition] = {
    definition.intent: definition
    for definition in (
        IntentDefinition(
            Intent.complaint,
            "Dissatisfaction with a product, service, order, price or the way the customer was "
            "treated, including one broken or faulty product.",
            "Descontento con un producto, servicio, pedido, precio o con el trato recibido, "
            "incluido un producto roto o defectuoso.",
            (
                "A question that is really a complaint ('why does nobody answer??', '¿xq me "
                "siguen cobrando?') is a complaint.",
                "Sarcasm ('great, lost again 👏', 'genial, tercera vez que...') is a complaint.",
                "One broken product is a complaint; people hurt or a public scandal is a crisis.",
                "A former or current employee about their own pay is an employee_matter.",
            ),
        ),
        IntentDefinition(
            Intent.service_request,
            "Asks the brand to do something concrete on an account, order, booking or contract "
            "(change, cancel, resend, book, reset, unsubscribe) without complaining.",
            "Pide a la marca una gestión concreta sobre una cuenta, pedido, reserva o contrato "
            "(cambiar, cancelar, reenviar, reservar, dar de baja) sin quejarse.",
            (
                "Asking for an action after a failure ('fix my broken machine, 3 weeks now') is a "
                "complaint.",
            ),
        ),
        IntentDefinition(
            Intent.question,
            "Asks for information about the brand, its products, prices, opening hours or "
            "policies, with no action requested and no purchase decided.",
            "Pide información sobre la marca, sus productos, horarios o condiciones, sin pedir "
            "una gestión ni haber decidido comprar.",
            (
                "Negated buying ('no quiero comprar, solo saber...', 'not buying yet, just...') is "
                "a question.",
            ),
        ),
        IntentDefinition(
            Intent.purchase_intent,
            "Wants to buy or sign up: asks how, where or for how much to buy, for stock or a "
            "quote with the decision made or near.",
            "Quiere comprar o contratar: pregunta cómo, dónde o a qué precio comprar, stock o "
            "presupuesto con la decisión tomada o cerca.",
            (
                "A business offering to sell its own goods or services to the brand is a "
                "partnership.",
            ),
        ),
        IntentDefinition(
            Intent.feedback_idea,
            "A suggestion or idea for a product, feature or service (crowdsourcing).",
            "Una sugerencia o idea para un producto, función o servicio.",
            (
                "Praise followed by 'just one idea: ...' is feedback_idea: the idea is what asks "
                "for action.",
            ),
        ),
        IntentDefinition(
            Intent.praise,
            "Thanks, compliments or a positive experience, with nothing asked.",
            "Agradecimiento, elogio o una experiencia positiva, sin pedir nada.",
            ("Positive words used sarcastically are a complaint.",),
        ),
        IntentDefinition(
            Intent.press_inquiry,
            "A journalist, media outlet, podcast or blog asking for a statement, interview, data "
            "or a press contact.",
            "Un periodista, medio, pódcast o blog que pide declaraciones, una entrevista, datos "
            "o un contacto de prensa.",
            (
                "A journalist asking about an incident (fire, recall, breach) is a press_inquiry, "
                "not a crisis.",
            ),
        ),
        IntentDefinition(
            Intent.crisis,
            "People hurt or in danger, a safety hazard, a data breach, discrimination or a "
            "public scandal spreading (boycotts, viral videos).",
            "Personas heridas o en peligro, un riesgo de seguridad, una filtración de datos, "
            "discriminación o un escándalo público que se extiende (boicots, vídeos virales).",
            ("One faulty product with nobody hurt is a complaint.",),
        ),
        IntentDefinition(
            Intent.job_inquiry,
            "A candidate asking about vacancies, applications, internships or interviews.",
            "Una persona candidata que pregunta por vacantes, candidaturas, prácticas o "
            "entrevistas.",
        ),
        IntentDefinition(
            Intent.employee_matter,
            "A current or former employee about their own work: pay, contract, leave, shifts, "
            "harassment, HR paperwork.",
            "Una persona empleada o ex empleada sobre su propio trabajo: nómina, contrato, "
            "vacaciones, turnos, acoso, papeles de RR. HH.",
            ("A former employee about their own pay is an employee_matter, not a complaint.",),
        ),
        IntentDefinition(
            Intent.investor_relations,
            "Shareholders, investors or analysts: results, dividends, shares, meetings, funding.",
            "Accionistas, inversores o analistas: resultados, dividendos, acciones, juntas, "
            "financiación.",
        ),
        IntentDefinition(
            Intent.partnership,
            "A business-to-business offer: suppliers, distributors, resellers, sponsorship, "
            "creators or agencies proposing a collaboration.",
            "Una oferta entre empresas: proveedores, distribuidores, revendedores, patrocinio, "
            "creadores o agencias que proponen colaborar.",
            (
                "B2B offers are partnerships, even when they look like sales pitches; scams that "
                "ask the brand or its followers to pay are spam.",
            ),
        ),
        IntentDefinition(
            Intent.spam,
            "Unsolicited promotion, scams, phishing, follow-for-follow, get-rich schemes.",
            "Promoción no solicitada, estafas, phishing, sígueme y te sigo, dinero fácil.",
        ),
        IntentDefinition(
            Intent.other,
            "Anything else: chit-chat, tagging friends, reactions, off-topic remarks.",
            "Todo lo demás: charla, etiquetar a amigos, reacciones, comentarios sin relación.",
        ),
    )
}

INTENTS: tuple[Intent, ...] = tuple(Intent)


def describe_intents() -> str:
    """The definitions as Markdown, for the API docs."""
    lines = []
    for definition in DEFINITIONS.values():
        lines.append(f"- `{definition.intent.value}`: {definition.en} / {definition.es}")
        lines.extend(f"  - {boundary}" for boundary in definition.boundaries)
    return "\n".join(lines)
