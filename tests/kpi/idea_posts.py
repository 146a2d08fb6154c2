"""Idea posts in Spanish and English, written for these tests (made-up brands and people), with
the theme a product team would file each under; and posts that are not ideas."""

from __future__ import annotations

IDEAS: list[tuple[str, str, str]] = [  # (theme, lang, text)
    (
        "dark_mode",
        "es",
        "Estaría genial que la app tuviera modo oscuro, por la noche me deja ciego",
    ),
    (
        "dark_mode",
        "es",
        "Sugerencia: modo oscuro en la app, que de noche la pantalla blanca molesta",
    ),
    (
        "dark_mode",
        "es",
        "Sugerencia para la próxima versión: modo oscuro en la app, leo antes de dormir",
    ),
    ("dark_mode", "es", "Estaría bien un tema oscuro en la app, el blanco cansa la vista"),
    ("dark_mode", "en", "Suggestion: dark mode for the app, the white screen is blinding at night"),
    ("dark_mode", "en", "It would be great to have a dark mode in the app for reading in bed"),
    ("dark_mode", "en", "Idea for the next update: dark mode please, my eyes will thank you"),
    ("bizum", "es", "Os propongo que añadáis el pago con Bizum, sería mucho más cómodo"),
    ("bizum", "es", "Podrían añadir la opción de pagar con Bizum? Sería mucho más cómodo"),
    ("bizum", "es", "Ojalá aceptéis Bizum como forma de pago en la tienda online"),
    ("bizum", "es", "Estaría genial poder pagar con Bizum en vuestra web, la tarjeta da pereza"),
    ("big_bottle", "es", "Sacad el champú en formato grande, se acaba enseguida"),
    (
        "big_bottle",
        "es",
        "Una idea: champú en formato familiar de un litro, el bote pequeño no dura",
    ),
    (
        "big_bottle",
        "es",
        "Deberíais vender el champú de avena en formato ahorro, lo compramos cada semana",
    ),
    ("loyalty", "en", "Idea: a loyalty card that gives a free coffee after ten purchases"),
    ("loyalty", "en", "It would be great to have a loyalty card with points for every coffee"),
    ("loyalty", "en", "Suggestion: a digital loyalty card in the app instead of the paper stamps"),
    ("plugs", "es", "Deberíais poner más enchufes en las mesas de la cafetería"),
]

NOT_IDEAS: list[tuple[str, str]] = [
    ("es", "Mi pedido no ha llegado y nadie me contesta"),
    ("en", "Where is my refund? Three weeks waiting"),
    ("es", "Muchas gracias por la atención de ayer, un diez"),
]
