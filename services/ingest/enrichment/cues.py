"""Complaint cues the tweet-trained model rarely sees but a social care team must not miss.

Written by hand, in both languages, for posts aimed at a brand: escalation threats ("os
denuncio", "I'll report you to trading standards"), nobody answering, repeated failures, sarcasm
("genial, tercera vez que..."), and incidents told calmly (people ill after a product, passengers
stranded, a data leak, card details in an email). The crisis detector counts on them being
negative even when no word of the post is negative.

Patterns run on the post's folded words joined by single spaces (lower case, no accents, no
punctuation, no digits), so "¡OS DENUNCIARÉ!" and "os denunciare" read the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Final


class Cue(StrEnum):
    escalation = "escalation"
    no_answer = "no_answer"
    repeated_failure = "repeated_failure"
    sarcasm = "sarcasm"
    incident = "incident"


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?:\b{p}\b)" for p in patterns))


_SPANISH: Final[dict[Cue, re.Pattern[str]]] = {
    Cue.escalation: _compile(
        [
            r"(?:os|te|les|le|lo|la|los|las) (?:voy a |vamos a |pienso )?(?:denunci|demand)\w*",
            r"(?:poner|pondre|pondremos|presentar|presentare) (?:una )?(?:denuncia|queja formal|"
            r"reclamacion)",
            r"(?:hoja|libro) de reclamaciones",
            r"(?:oficina|asociacion|organismo|autoridad|autoridades|direccion general) de"
            r"(?:l)? consum\w*",
            r"(?:omic|facua|ocu|consumo) (?:se va a enterar|lo sabra)",
            r"(?:ire|acudire|iremos|acudiremos) (?:a|al|a la) (?:consumo|omic|facua|ocu|juzgado|"
            r"abogado|policia|tribunales)",
            r"(?:mi|un) abogad[oa]",
            r"(?:via judicial|los tribunales|al juzgado)",
            # "contarlo", "contárselo", "publicaré" ...: the verb with any clitic or ending.
            r"(?:cont|difund|public|sabr)\w* \w*(?: \w+)? "
            r"(?:a |en |por )?(?:todos )?mis (?:seguidores|contactos|redes)",
            r"mis (?:seguidores|contactos) (?:se van a enterar|lo sabran|sabran)",
        ]
    ),
    Cue.no_answer: _compile(
        [
            r"nadie (?:me |nos |te )?(?:responde|contesta|atiende|soluciona|ayuda|ofrece|da|"
            r"hace|coge|llama|dice)\w*",
            r"(?:sin|ni) (?:una |ninguna )?(?:respuesta|solucion)",
            r"no (?:me |nos )?(?:responden|contestan|atienden|solucionan|dan (?:una )?solucion|"
            r"cogen el telefono|devuelven)",
            r"sigo (?:esperando|sin)",
            r"(?:seguimos|sigue|siguen) sin",
        ]
    ),
    Cue.repeated_failure: _compile(
        [
            r"(?:segunda|tercera|cuarta|quinta|sexta|enesima|\d+a?) vez",
            r"(?:dos|tres|cuatro|cinco|\d+) veces",
            r"(?:cada vez peor|otra vez lo mismo|otra vez el mismo|otra vez la misma|de nuevo lo "
            r"mismo)",
            r"(?:ya|van|llevo|llevamos) (?:van |son |llevo )?(?:\w+ )?(?:llamadas|reclamaciones|"
            r"correos|quejas|intentos)",
            r"cobr\w* (?:otra vez|de nuevo|dos veces|duplicad\w*|doble)",
            r"(?:cargo|cobro) (?:duplicado|repetido|doble)",
        ]
    ),
    Cue.incident: _compile(
        [
            r"intoxica\w*",
            r"envenena\w*",
            r"(?:enfermos|enfermas|enfermo|enferma|enfermaron|enfermado)",
            r"(?:nos pusimos|se pusieron|me puse|se puso) (?:malos|malas|malo|mala|enferm\w*)",
            r"(?:vomit\w*|diarrea|urgencias|hospitalizad\w*|ingresad[oa]s?)",
            r"(?:varad[oa]s|tirad[oa]s|atrapad[oa]s|abandonad[oa]s) (?:en|sin)",
            r"(?:cancelaron|cancelado|cancelada) (?:el |nuestro |mi )?vuelo",
            r"(?:fuga|filtracion|brecha|robo) de (?:datos|informacion)",
            r"(?:datos|numero|numeros) de (?:mi |la )?tarjeta",
            r"mis datos (?:personales|bancarios) (?:\w+ ){0,4}(?:correo|email|mail|publicos|"
            r"expuestos|filtrad\w*|visibles)",
            r"(?:hackead\w*|suplantacion de identidad)",
        ]
    ),
}

_ENGLISH: Final[dict[Cue, re.Pattern[str]]] = {
    Cue.escalation: _compile(
        [
            r"report(?:ing)? (?:you|this|them|it) to",
            r"trading standards",
            r"consumer (?:protection|authority|authorities|rights|ombudsman|agency|council)",
            r"ombudsman",
            r"better business bureau",
            r"small claims",
            r"(?:my|a) (?:lawyer|solicitor|attorney)",
            r"(?:sue|suing|legal action|take you to court)",
            r"charge ?back",
            r"(?:tell|telling|warn|warning) (?:all |every one of )?(?:my )?(?:followers|friends)",
            r"(?:going|go) public",
        ]
    ),
    Cue.no_answer: _compile(
        [
            r"(?:nobody|no one|noone) (?:is |has |will |ever )?(?:answer|respond|repl|help|"
            r"call|pick|fix|offer|get)\w*",
            r"no (?:answer|response|reply|solution|help)s? (?:yet|at all|from|since|for)",
            r"(?:still|yet) (?:no|to) (?:answer|response|reply|hear)\w*",
            r"never (?:answer|respond|repl|call|get back)\w*",
            r"(?:still|been) waiting",
            r"ignor(?:ed|ing) (?:me|us|my)",
        ]
    ),
    Cue.repeated_failure: _compile(
        [
            r"(?:second|third|fourth|fifth|sixth|umpteenth|\d+(?:st|nd|rd|th)) time",
            r"(?:again and again|yet again|time after time)",
            r"(?:charged|billed) (?:me |us )?(?:twice|three times|again|double)",
            r"double (?:charged|billed)",
            r"(?:keeps|kept|keep) (?:failing|crashing|breaking|happening|charging|cancell?ing|"
            r"dropping)",
            r"(?:two|three|four|five|\d+) times (?:now|already|this)",
        ]
    ),
    Cue.incident: _compile(
        [
            r"food poisoning",
            r"poisoned",
            r"(?:got|getting|fell|became|made us|made me|made them|are|were|was|been) "
            r"(?:sick|ill)",
            r"(?:vomit\w*|allergic reaction|in hospital|to hospital|hospitali[sz]ed|a and e)",
            r"stranded",
            r"stuck (?:at|in) (?:the )?(?:airport|station|terminal)",
            r"flight (?:was |got |has been )?cancell?ed",
            r"data (?:leak|breach)",
            r"(?:leaked|hacked|exposed)",
            r"(?:card|bank|payment) details",
        ]
    ),
}

# A praise word opening the post and a failure after it: "genial, tercera vez que...".
_SARCASTIC_OPENERS: Final = {
    "es": frozenset(
        "genial fantastico estupendo perfecto maravilloso increible bravo enhorabuena "
        "gracias fenomenal".split()
    ),
    "en": frozenset("great perfect fantastic wonderful brilliant lovely awesome thanks".split()),
}
_CUES: Final = {"es": _SPANISH, "en": _ENGLISH}


def complaint_cues(words: Sequence[str], lang: str) -> set[Cue]:
    """The cues found in the folded words of a post written in `lang` ("es" or "en")."""
    patterns = _CUES.get(lang)
    if patterns is None or not words:
        return set()
    text = " ".join(words)
    found = {cue for cue, pattern in patterns.items() if pattern.search(text)}
    if Cue.repeated_failure in found and words[0] in _SARCASTIC_OPENERS[lang]:
        found.add(Cue.sarcasm)
    return found
