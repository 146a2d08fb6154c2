"""Brand-directed complaints a social care team must see as negative, in both languages.

Written for the purpose (not taken from any data set): escalation threats, nobody answering,
repeated failures, sarcasm and incidents told calmly, the kinds the crisis detector counts on.
Each post is plainly a complaint to a person, whatever its words' polarity."""

from __future__ import annotations

import pytest

from services.ingest.enrichment import analyse_sentiment
from shared.events.interactions import SentimentLabel

SPANISH = {
    "escalation": [
        "Si mañana no tengo el reembolso os denuncio, que lo sepáis.",
        "Voy a poner una reclamación en la oficina del consumidor por el cobro de octubre.",
        "Pido la hoja de reclamaciones y me dicen que no tienen. Muy bien.",
        "Ya he hablado con mi abogado, nos vemos en los tribunales.",
        "Pienso contárselo a todos mis seguidores para que nadie compre aquí.",
        "Iré a Consumo con todas las facturas, a ver qué dicen ellos.",
    ],
    "no_answer": [
        "Llevo tres días escribiendo por privado y nadie me responde.",
        "Cuarenta minutos al teléfono y nadie coge la llamada.",
        "Mandé el formulario hace una semana y sigo sin respuesta.",
        "Nadie me da una solución, solo me pasan de un departamento a otro.",
        "Seguimos sin luz en casa y nadie nos dice nada.",
    ],
    "repeated_failure": [
        "Me habéis cobrado dos veces el mismo pedido, ¿me lo explicáis?",
        "Es la cuarta vez que pido que me den de baja del boletín.",
        "Otra vez lo mismo: el repartidor deja el aviso y no llama al timbre.",
        "Ya van cinco llamadas para la misma avería del router.",
        "Cobro duplicado en la tarjeta, revisad vuestro sistema.",
    ],
    "sarcasm": [
        "Genial, tercera vez que se cae la app justo al pagar.",
        "Perfecto, segunda vez que me llega el pedido equivocado. Un aplauso.",
        "Fantástico, tercera vez que me cambiáis el vuelo esta semana.",
        "Enhorabuena, cuarta vez que me cortáis la fibra este mes.",
    ],
    "incident": [
        "Toda la familia con vómitos después de comer el pollo asado que compramos ayer.",
        "Mi hija está en urgencias tras tomar el yogur de vuestra marca.",
        "Estamos varados en el aeropuerto de Barajas desde las seis, sin información.",
        "Me ha llegado un correo con los datos de mi tarjeta de otro cliente.",
        "Mis datos personales aparecen en el correo que enviasteis a todos los clientes.",
        "Nos intoxicamos cuatro personas con la ensalada del menú del sábado.",
        "Han cancelado nuestro vuelo y nos han dejado tirados en la terminal.",
    ],
}

ENGLISH = {
    "escalation": [
        "If the refund isn't here by Friday I'll report you to trading standards.",
        "I'm taking this to the ombudsman, I've had enough.",
        "Speaking to my solicitor tomorrow about the damage to my car.",
        "I will be telling all my followers exactly how you treat customers.",
        "Filing a chargeback with my bank since you won't refund me.",
        "This is going to the consumer protection agency along with every email.",
    ],
    "no_answer": [
        "Three days messaging your support and nobody answers.",
        "Forty minutes on hold and no one picks up.",
        "Sent the form a week ago and still no reply.",
        "Nobody has offered a solution, I just get passed around.",
        "Still waiting for the engineer who was due on Monday.",
    ],
    "repeated_failure": [
        "You've charged me twice for the same order, can you explain?",
        "Fourth time I've asked to be taken off the mailing list.",
        "The app keeps crashing every time I try to check out.",
        "Double charged again on my card, please sort your system out.",
        "Third time this month the delivery has gone to the wrong address.",
    ],
    "sarcasm": [
        "Great, third time the app has crashed right at payment.",
        "Perfect, second time my order has arrived wrong. Round of applause.",
        "Brilliant, fourth time you've moved my flight this week.",
        "Lovely, third time the broadband has dropped today.",
    ],
    "incident": [
        "Whole family has been vomiting since eating the chicken we bought yesterday.",
        "My daughter is in hospital after eating your yoghurt.",
        "We've been stranded at Gatwick since six this morning with no information.",
        "I received an email with another customer's card details in it.",
        "My personal details were exposed in the email you sent to everyone.",
        "Four of us got food poisoning from Saturday's set menu salad.",
        "Our flight was cancelled and we're stuck at the airport overnight.",
    ],
}


def _cases(posts: dict[str, list[str]], lang: str) -> list[tuple[str, str]]:
    return [(text, lang) for texts in posts.values() for text in texts]


@pytest.mark.parametrize(("text", "lang"), _cases(SPANISH, "es") + _cases(ENGLISH, "en"))
def test_brand_directed_complaints_are_negative(text: str, lang: str) -> None:
    sentiment = analyse_sentiment(text, lang)
    assert sentiment.label is SentimentLabel.negative, (text, sentiment)
    assert sentiment.score < 0, (text, sentiment)


def test_every_kind_is_covered_in_both_languages() -> None:
    kinds = {"escalation", "no_answer", "repeated_failure", "sarcasm", "incident"}
    assert set(SPANISH) == set(ENGLISH) == kinds
    assert all(len(posts) >= 4 for posts in (*SPANISH.values(), *ENGLISH.values()))


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Gracias, el vuelo llegó puntual y la tripulación fue encantadora.", "es", "positive"),
        ("¿Tenéis opciones sin gluten en el menú del sábado?", "es", "neutral"),
        ("Thanks, the flight landed on time and the crew were lovely.", "en", "positive"),
        ("Do you have gluten-free options on the Saturday menu?", "en", "neutral"),
    ],
)
def test_the_same_topics_without_a_complaint_are_not_negative(
    text: str, lang: str, expected: str
) -> None:
    assert analyse_sentiment(text, lang).label.value == expected
