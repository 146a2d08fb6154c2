"""The canned replies a brand starts with, in Spanish and English, seeded on the brand's first
use of canned replies (as the default departments are) and then the brand's own to edit or
delete: a greeting, a request to continue by private message with the order number (never
asking for personal data in public), an apology with the next step, thanks for an idea, and a
hand-off to the department that handles it.

Each passes the shipped guideline packs (standards, tone and style, legal, HR) whichever
formality the brand chose: the Spanish texts address the customer without tú or usted forms
(`tests/routing/test_canned_defaults.py` checks them against the real check).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DefaultCannedReply:
    code: str
    lang: str
    title: str
    text: str
    intents: tuple[str, ...] = ()
    department: str | None = None


DEFAULT_CANNED_REPLIES: tuple[DefaultCannedReply, ...] = (
    DefaultCannedReply(
        code="greeting",
        lang="es",
        title="Saludo",
        text=(
            "¡Hola, {{customer_name}}! Gracias por escribirnos. Soy {{agent_name}} y estamos "
            "aquí para ayudar con lo que haga falta."
        ),
    ),
    DefaultCannedReply(
        code="greeting",
        lang="en",
        title="Greeting",
        text=(
            "Hi {{customer_name}}, thanks for reaching out! I'm {{agent_name}} and we're "
            "happy to help."
        ),
    ),
    DefaultCannedReply(
        code="dm-order",
        lang="es",
        title="Seguir por mensaje privado con el número de pedido",
        text=(
            "Hola, {{customer_name}}. Lamentamos las molestias. Para revisarlo, sigamos por "
            "mensaje privado: basta con el número de pedido, sin compartir datos personales "
            "por aquí. Gracias."
        ),
        intents=("complaint", "service_request", "question"),
    ),
    DefaultCannedReply(
        code="dm-order",
        lang="en",
        title="Continue by private message with the order number",
        text=(
            "Hi {{customer_name}}, we're sorry for the trouble. So we can look into this, "
            "please send us a private message with your order number. No need to share any "
            "personal details here. Thanks!"
        ),
        intents=("complaint", "service_request", "question"),
    ),
    DefaultCannedReply(
        code="apology",
        lang="es",
        title="Disculpa y siguiente paso",
        text=(
            "Hola, {{customer_name}}. Lamentamos mucho lo ocurrido con el pedido "
            "{{order_id}}. Ya lo estamos revisando y en cuanto tengamos novedades "
            "escribiremos por aquí. Gracias por la paciencia."
        ),
        intents=("complaint",),
    ),
    DefaultCannedReply(
        code="apology",
        lang="en",
        title="Apology and next step",
        text=(
            "Hi {{customer_name}}, we're sorry about what happened with order {{order_id}}. "
            "We're looking into it now and will update you here as soon as we know more. "
            "Thank you for your patience."
        ),
        intents=("complaint",),
    ),
    DefaultCannedReply(
        code="idea-thanks",
        lang="es",
        title="Gracias por la idea",
        text=(
            "¡Hola, {{customer_name}}! Muchas gracias por la idea. La compartimos con el "
            "equipo de producto: sugerencias así nos ayudan a mejorar."
        ),
        intents=("feedback_idea", "praise"),
    ),
    DefaultCannedReply(
        code="idea-thanks",
        lang="en",
        title="Thanks for the idea",
        text=(
            "Hi {{customer_name}}, thanks so much for the idea! We've shared it with our "
            "product team: suggestions like this help us get better."
        ),
        intents=("feedback_idea", "praise"),
    ),
    DefaultCannedReply(
        code="handoff",
        lang="es",
        title="Traspaso a otro departamento",
        text=(
            "Hola, {{customer_name}}. Gracias por el mensaje. Este tema lo lleva otro equipo,"
            " así que ya lo hemos pasado a las personas adecuadas y pronto habrá respuesta "
            "por aquí."
        ),
    ),
    DefaultCannedReply(
        code="handoff",
        lang="en",
        title="Hand-off to another department",
        text=(
            "Hi {{customer_name}}, thanks for your message. Another team looks after this, so"
            " we've passed it to the right people and they'll get back to you here soon."
        ),
    ),
)
