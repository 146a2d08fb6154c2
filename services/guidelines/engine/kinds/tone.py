"""Our own tone kinds: formality (tú / usted / vosotros), politeness and empathy, profanity,
competitor mentions and criticism."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from shared.patterns import expand_to_literals

from ..models import CheckContext, Competitor, Rule
from ..stems import stem, stems
from ..text import TOKEN_RE, Document, WordPhrases, fold_accents
from .base import (
    BrandFacts,
    Checker,
    Hit,
    KindError,
    check_known_params,
    kind,
    param_by_language,
    param_int,
    param_str,
)

# --- formality -------------------------------------------------------------------------------

# Words that only the tú register uses (lowercase, accents as written).
_TU_WORDS = frozenset(
    "tú tu tus ti te contigo tuyo tuya tuyos tuyas puedes quieres tienes necesitas prefieres "
    "sabes eres estás has hiciste recibiste pudiste compraste enviaste escribiste pediste "
    "podrías quisieras deberías debes vas dices pides dudes olvides preocupes vives llamaste "
    "pagaste intentaste".split()
)
_USTED_WORDS = frozenset(
    "usted ud ud. vd disculpe perdone dude olvide preocupe consulte compruebe verifique "
    "recuerde".split()
)
_VOSOTROS_WORDS = frozenset("vosotros vosotras os vuestro vuestra vuestros vuestras".split())
# (tú imperative, usted imperative) of verbs agents use with attached pronouns, unaccented:
# escríbenos / escríbanos, cuéntanos / cuéntenos, dinos / díganos ...
_IMPERATIVES = (
    ("escribe", "escriba"),
    ("envia", "envie"),
    ("manda", "mande"),
    ("contacta", "contacte"),
    ("llama", "llame"),
    ("cuenta", "cuente"),
    ("di", "diga"),
    ("indica", "indique"),
    ("confirma", "confirme"),
    ("facilita", "facilite"),
    ("da", "de"),
    ("pasa", "pase"),
    ("avisa", "avise"),
    ("sigue", "siga"),
    ("disculpa", "disculpe"),
    ("perdona", "perdone"),
    ("deja", "deje"),
    ("mira", "mire"),
    ("revisa", "revise"),
    ("comprueba", "compruebe"),
    ("haz", "haga"),
    ("pon", "ponga"),
    ("ayuda", "ayude"),
    ("espera", "espere"),
    ("responde", "responda"),
    ("comparte", "comparta"),
    ("escucha", "escuche"),
    ("comenta", "comente"),
    ("explica", "explique"),
    ("adjunta", "adjunte"),
    ("acompaña", "acompañe"),
    ("guarda", "guarde"),
    ("reenvia", "reenvie"),
)
_CLITICS = ("nos", "me", "lo", "la", "los", "las", "le", "les", "noslo", "nosla", "selo", "sela")
_TU_CLITIC = frozenset(tu + clitic for tu, _usted in _IMPERATIVES for clitic in _CLITICS)
_USTED_CLITIC = frozenset(usted + clitic for _tu, usted in _IMPERATIVES for clitic in _CLITICS)
# escribidnos, contactadnos; podéis, tenéis, estáis
_VOSOTROS_FORM = re.compile(r"\w{2,}(?:[aei]dnos|[aei]dme|áis|éis)$")
_VOSOTROS_ENDINGS = ("dnos", "dme", "áis", "éis")
REGISTER_NAMES = {"tu": "tú", "usted": "usted", "vosotros": "vosotros"}


def formality_markers(doc: Document) -> list[tuple[int, str]]:
    """(word index, register) for every word that marks tú, usted or vosotros (memoised)."""
    cached = doc.memo.get("formality_markers")
    if cached is None:
        cached = doc.memo["formality_markers"] = _find_formality_markers(doc)
    return cached  # type: ignore[return-value]


def _find_formality_markers(doc: Document) -> list[tuple[int, str]]:
    markers: list[tuple[int, str]] = []
    unknown = doc.word_set - _NEUTRAL_WORDS
    if not unknown:
        return markers
    cache = _REGISTER_OF_WORD
    words = doc.words
    for word in unknown:
        register = cache.get(word)
        if register is None:
            register = _register_of(word)
            if len(cache) < 100_000:
                cache[word] = register
                if not register:
                    _NEUTRAL_WORDS.add(word)
        if not register:
            continue
        # Every position of the word, found by list.index (in C).
        position = words.index(word)
        while True:
            markers.append((position, register))
            try:
                position = words.index(word, position + 1)
            except ValueError:
                break
    markers.sort()
    return markers


# word -> "tu" / "usted" / "vosotros", or "" for words that mark no register; and the words
# known to mark none, so a text made only of them is skipped with one set comparison.
_REGISTER_OF_WORD: dict[str, str] = {}
_NEUTRAL_WORDS: set[str] = set()


def _register_of(word: str) -> str:
    """The register a lowercase word marks ("tu", "usted", "vosotros") or ""."""
    if word in _TU_WORDS:
        return "tu"
    if word in _USTED_WORDS:
        return "usted"
    if word in _VOSOTROS_WORDS or (word.endswith(_VOSOTROS_ENDINGS) and _VOSOTROS_FORM.match(word)):
        return "vosotros"
    if len(word) > 3 and word[-1] in "soae":
        folded = fold_accents(word)
        if folded in _TU_CLITIC:
            return "tu"
        if folded in _USTED_CLITIC:
            return "usted"
    return ""


class FormalityChecker(Checker):
    """``mode: consistency`` flags mixing registers; ``mode: register`` enforces the brand's."""

    def __init__(self, rule: Rule, brand: BrandFacts) -> None:
        super().__init__(rule)
        check_known_params(rule.params, ("mode", "register"))
        self.mode = param_str(rule.params, "mode", "register")
        if self.mode not in ("consistency", "register"):
            raise KindError("mode must be 'consistency' or 'register'", "mode")
        register = param_str(rule.params, "register", "brand")
        if register not in ("brand", "tu", "usted", "vosotros"):
            raise KindError("register must be brand, tu, usted or vosotros", "register")
        self.register = brand.formality if register == "brand" else register

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.mode == "register" and self.register is None:
            return ()
        markers = formality_markers(doc)
        if not markers:
            return ()
        expected = self.register
        if self.mode == "consistency":
            counts: dict[str, int] = {}
            for _index, register in markers:
                counts[register] = counts.get(register, 0) + 1
            if len(counts) < 2:
                return ()
            # The register used most (first on ties) is taken as intended.
            expected = max(counts, key=lambda r: (counts[r], -_first_index(markers, r)))
        assert expected is not None
        return [
            self.hit(
                start, end, doc, register=REGISTER_NAMES[expected], found=REGISTER_NAMES[found]
            )
            for start, end, found in (
                (doc.tokens[index][0], doc.tokens[index][1], register)
                for index, register in markers
            )
            if found != expected
        ]


def _first_index(markers: list[tuple[int, str]], register: str) -> int:
    return next(index for index, marker in enumerate(markers) if marker[1] == register)


@kind("formality")
def compile_formality(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a formality rule (Spanish tú / usted / vosotros)."""
    return FormalityChecker(rule, brand)


# --- politeness and empathy --------------------------------------------------------------------

_CUES: dict[str, dict[str, str]] = {
    "greeting": {
        "es": r"hola|buen[oa]s(?: días| tardes| noches)?|saludos|estimad[oa]s?|hey|qué tal",
        "en": r"hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings|howdy",
    },
    "thanks": {
        "es": r"gracias|agradecemos|agradecid[oa]s|agradecerte|agradecerle|te lo agradecemos",
        "en": r"thanks?|thank you|appreciate|grateful|cheers",
    },
    "apology": {
        "es": r"sentimos|lamentamos|lo siento|disculpa[s]?|disculpe|disculpen"
        r"|discúlpa(nos|me)|discúlpe(nos|me)|perdón|perdona|perdone|pedimos perdón|nos disculpamos",
        "en": r"sorry|apologi[sz]e[sd]?|apologi[sz]ing|apologies|regret|our bad",
    },
    "empathy": {
        "es": r"sentimos|lamentamos|lo siento|disculpa[s]?|disculpe|discúlpa(nos|me)|entendemos"
        r"|comprendemos|imaginamos|sabemos lo|qué rabia|entiendo",
        "en": r"sorry|apologi[sz]e[sd]?|apologi[sz]ing|apologies|understand|frustrating"
        r"|we hear you|we get it|must be",
    },
}
_ADMITS_ERROR = {
    "es": r"nuestro error|error nuestro|nos equivocamos|nos hemos equivocado|fallo nuestro"
    r"|culpa nuestra|nuestra culpa|fue un error|ha sido un error|no lo hicimos bien",
    "en": r"our (?:mistake|error|fault)|we made a mistake|we messed up|we got it wrong"
    r"|we dropped the ball|that was on us|our bad",
}
_COMPLAINT_INTENTS = frozenset({"complaint", "crisis"})
_POSITIVE_INTENTS = frozenset({"praise", "feedback_idea"})
WHEN_CHOICES = ("always", "complaint", "positive", "admits_error", "complaint_or_error")


def _cue_pattern(alternation: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.I)


def _word_phrases(alternation: str) -> WordPhrases:
    literals = expand_to_literals(alternation)
    assert literals is not None, alternation  # the cue lists above are literal
    return WordPhrases(literals)


# The cue lists as phrases matched on the document's words (one dict lookup per word).
_CUE_PHRASES = {
    (cue, lang): _word_phrases(alternation)
    for cue, by_lang in _CUES.items()
    for lang, alternation in by_lang.items()
}
_ADMITS_PHRASES = {lang: _word_phrases(alternation) for lang, alternation in _ADMITS_ERROR.items()}


def _word_start(doc: Document, index: int) -> int:
    """Offset of word ``index``; early words are located without building every offset."""
    if index < 8 and "tokens" not in doc.__dict__:
        match = next(itertools.islice(TOKEN_RE.finditer(doc.text), index, None), None)
        return match.start() if match is not None else 0
    return doc.tokens[index][0]


def admits_error(doc: Document) -> bool:
    """True when the reply admits a mistake ("nos equivocamos", "our mistake")."""
    phrases = _ADMITS_PHRASES.get(doc.lang)
    return phrases is not None and bool(phrases.find(doc, first_only=True))


class PolitenessChecker(Checker):
    """Requires a greeting, thanks, an apology or empathy, always or when the context calls
    for it: a complaint (intent or negative inbound sentiment), positive feedback, or a reply
    that admits an error."""

    def __init__(self, rule: Rule, default_require: str) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, ("require", "when", "within", "cues"))
        self.require = param_str(params, "require", default_require)
        if self.require not in _CUES:
            raise KindError(f"require must be one of {', '.join(_CUES)}", "require")
        self.when = param_str(params, "when", "always")
        if self.when not in WHEN_CHOICES:
            raise KindError(f"when must be one of {', '.join(WHEN_CHOICES)}", "when")
        self.within = param_int(params, "within")
        self.extra: dict[str, re.Pattern[str]] = {
            lang: _cue_pattern("|".join(re.escape(w) for w in words))
            for lang, words in param_by_language(params, "cues").items()
        }

    def _applies(self, doc: Document, context: CheckContext | None) -> bool:
        if self.when == "always":
            return True
        complaint = context is not None and (
            context.intent in _COMPLAINT_INTENTS or context.inbound_sentiment == "negative"
        )
        if self.when == "complaint":
            return complaint
        if self.when == "positive":
            return context is not None and (
                context.intent in _POSITIVE_INTENTS or context.inbound_sentiment == "positive"
            )
        error = admits_error(doc)
        if self.when == "admits_error":
            return error
        return complaint or error

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        phrases = _CUE_PHRASES.get((self.require, doc.lang))
        if phrases is None or not self._applies(doc, context):
            return ()
        first = phrases.find(doc, first_only=True)
        if first and (self.within is None or _word_start(doc, first[0][0]) < self.within):
            return ()
        text = doc.text if self.within is None else doc.text[: self.within]
        extra = self.extra.get(doc.lang) or self.extra.get("*")
        if extra is not None and extra.search(text):
            return ()
        # The whole reply lacks it: point at its first sentence.
        end = doc.sentences[0][1] if doc.sentences else len(doc.text)
        return [self.hit(0, end, doc)]


@kind("politeness")
def compile_politeness(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a politeness rule (greeting, thanks)."""
    return PolitenessChecker(rule, "greeting")


@kind("empathy")
def compile_empathy(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile an empathy rule (apology or empathy when the reply answers a complaint)."""
    return PolitenessChecker(rule, "apology")


# --- profanity --------------------------------------------------------------------------------

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "8": "b",
    }
)
_PROFANITY_TOKEN = re.compile(r"[\w@$](?:[\w@$!]*[\w@$])?")
_RUNS_OF_THREE = re.compile(r"(.)\1{2,}")
_RUNS_OF_TWO = re.compile(r"(.)\1+")
_VERDICT_CACHE_SIZE = 100_000
_OBSCURING_SYMBOLS = "@$!"


def _symbol_obscured(text: str) -> bool:
    """True when @, $ or ! stands for a letter: inside a word (sh!t) or starting one ($hit)."""
    for symbol in _OBSCURING_SYMBOLS:
        position = text.find(symbol)
        while position >= 0:
            after = text[position + 1 : position + 2]
            before = text[position - 1 : position] if position else ""
            if after.isalpha() and (before.isalpha() or symbol != "!"):
                return True
            position = text.find(symbol, position + 1)
    return False


@lru_cache(maxsize=65536)
def normalise_obscured_word(token: str) -> tuple[str, ...]:
    """Forms to compare with a profanity list: folded, de-leeted, with repeats squeezed.

    'M1erda' -> 'mierda', 'shiiit' -> 'shit', 'cabrón' -> 'cabron', 'asssss' -> 'ass'.
    """
    word = fold_accents(token)
    if not word.isalpha() and any(char.isalpha() for char in word):
        word = word.translate(_LEET)
    forms = [word]
    if _RUNS_OF_THREE.search(word):
        forms.append(_RUNS_OF_THREE.sub(r"\1", word))
        forms.append(_RUNS_OF_THREE.sub(r"\1\1", word))
    return tuple(forms)


class ProfanityChecker(Checker):
    """Whole-word profanity in any listed language, obscured or not, minus the allowlist
    of the text's language (``negro`` is a colour in Spanish)."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, ("words", "allow", "max_phrase_words"))
        words_by_lang = param_by_language(params, "words")
        if not words_by_lang:
            raise KindError("profanity needs 'words'", "words")
        self.words: set[str] = set()
        self.squeezed: set[str] = set()  # words without double letters, compared squeezed
        self.prefixes: list[str] = []
        for words in words_by_lang.values():
            for entry in words:
                normal = fold_accents(entry.strip())
                if normal.endswith("*"):
                    self.prefixes.append(normal[:-1])
                    continue
                self.words.add(normal)
                if " " not in normal and _RUNS_OF_TWO.sub(r"\1", normal) == normal:
                    self.squeezed.add(normal)
        self.prefix_tuple = tuple(self.prefixes)
        self.allow = {
            lang: frozenset(fold_accents(word) for word in words)
            for lang, words in param_by_language(params, "allow").items()
        }
        self.max_phrase = max((w.count(" ") + 1 for w in self.words), default=1)
        # Only words that start a listed phrase trigger the (slower) phrase lookup.
        self.phrase_starts = frozenset(w.split(" ", 1)[0] for w in self.words if " " in w)
        self.verdicts: dict[str, dict[str, tuple[bool, bool]]] = {}
        self.phrase_seconds: dict[str, set[str]] = {}  # first word -> possible second words
        for phrase in self.words:
            if " " in phrase:
                first, second = phrase.split(" ")[:2]
                self.phrase_seconds.setdefault(first, set()).add(second)
        self.clean_words: dict[str, set[str]] = {}  # words whose verdict is (False, False)
        self.harmless_starters: dict[str, set[str]] = {}  # not profane, may start a phrase

    def _is_profane(self, forms: tuple[str, ...], allowed: frozenset[str]) -> bool:
        if forms[0] in allowed:
            return False
        for form in forms:
            if form in self.words or (self.prefix_tuple and form.startswith(self.prefix_tuple)):
                return form not in allowed
        squeezed = _RUNS_OF_TWO.sub(r"\1", forms[0])
        return squeezed != forms[0] and squeezed in self.squeezed and squeezed not in allowed

    def _verdict(self, token: str, lang: str) -> tuple[bool, bool]:
        """(is profane, may start a listed phrase) for one token, cached per language."""
        verdicts = self.verdicts.setdefault(lang, {})
        verdict = verdicts.get(token)
        if verdict is None:
            allowed = self.allow.get(lang, frozenset()) | self.allow.get("*", frozenset())
            forms = normalise_obscured_word(token)
            verdict = (
                self._is_profane(forms, allowed),
                self.max_phrase > 1 and not self.phrase_starts.isdisjoint(forms),
            )
            if len(verdicts) < _VERDICT_CACHE_SIZE:
                verdicts[token] = verdict
                if verdict == (False, False):
                    self.clean_words.setdefault(lang, set()).add(token)
                elif verdict == (False, True):
                    self.harmless_starters.setdefault(lang, set()).add(token)
        return verdict

    def _phrase_size(self, pieces: list[str], index: int) -> int:
        """Number of pieces in the longest listed phrase starting at ``index`` (0: none)."""
        if index + 1 >= len(pieces):
            return 0
        # Cheap test first: can the next word continue a phrase that starts with this one?
        seconds = {
            second
            for form in normalise_obscured_word(pieces[index])
            for second in self.phrase_seconds.get(form, ())
        }
        if seconds.isdisjoint(normalise_obscured_word(pieces[index + 1])):
            return 0
        for size in range(min(self.max_phrase, len(pieces) - index), 1, -1):
            window = [normalise_obscured_word(piece) for piece in pieces[index : index + size]]
            plain = " ".join(forms[0] for forms in window)
            # forms[1], when present, has letter runs squeezed ("puuuta" -> "puta").
            squeezed = " ".join(forms[1 if len(forms) > 1 else 0] for forms in window)
            if plain in self.words or squeezed in self.words:
                return size
        return 0

    def _check_phrases_at(self, doc: Document, starters: AbstractSet[str]) -> list[Hit]:
        """Hits of listed phrases that start with one of ``starters`` (plain words)."""
        words = doc.words
        hits = []
        for starter in starters:
            position = words.index(starter)
            while True:
                size = self._phrase_size(words, position)
                if size:
                    start, end = doc.tokens[position][0], doc.tokens[position + size - 1][1]
                    hits.append(self.hit(start, end, doc))
                try:
                    position = words.index(starter, position + 1)
                except ValueError:
                    break
        hits.sort(key=lambda hit: hit.start)
        return hits

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if not _symbol_obscured(doc.text):
            # Letters hidden only by digits ("m1erda") stay inside \w+ words: use the
            # document's words and their cached verdicts.
            unknown = doc.word_set - self.clean_words.get(doc.lang, frozenset())
            if not unknown:
                return ()
            if unknown <= self.harmless_starters.get(doc.lang, frozenset()):
                # Only words that may start a listed phrase ("hijo", "la"): look there only.
                return self._check_phrases_at(doc, unknown)
            pieces = doc.words
            spans: list[tuple[int, int]] | None = None
        else:  # "sh!t", "$h1t": the symbols are part of the word
            matches = list(_PROFANITY_TOKEN.finditer(doc.text))
            pieces = [match.group() for match in matches]
            spans = [match.span() for match in matches]
        verdicts = self.verdicts.get(doc.lang, {})
        hits = []
        skip_until = 0
        for index, piece in enumerate(pieces):
            verdict = verdicts.get(piece) or self._verdict(piece, doc.lang)
            if index < skip_until or verdict == (False, False):
                continue
            profane, starts_phrase = verdict
            size = self._phrase_size(pieces, index) if starts_phrase else 0
            if not size and not profane:
                continue
            if spans is None:
                spans = [(start, end) for start, end, _word in doc.tokens]
            if size:
                hits.append(self.hit(spans[index][0], spans[index + size - 1][1], doc))
                skip_until = index + size
            elif profane:
                hits.append(self.hit(*spans[index], doc))
        return hits


@kind("profanity")
def compile_profanity(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a profanity rule."""
    return ProfanityChecker(rule)


# --- competitors ------------------------------------------------------------------------------

# Negative words as lemmas: they are matched through Snowball stems, so every inflection counts
# ("mentir" finds miente, mintieron; "cheat" finds cheats, cheated).
_NEGATIVE_WORDS = {
    "es": "peor malo pésimo horrible estafa estafar estafador timo timar timador desastre "
    "desastroso basura ladrón robar fraude fraudulento mentir mentira mentiroso nefasto cutre "
    "chapuza chapucero engañar engaño engañoso inútil incompetente fatal porquería "
    "ruina abusivo caro fallar fallo falla abusar defraudar incumplir "
    "vergüenza vergonzoso decepcionante",
    "en": "worse worst bad terrible awful scam scammer rubbish garbage trash poor useless fraud "
    "fraudulent liar lie lying rip-off ripoff joke horrible inferior unreliable incompetent "
    "pathetic crap overpriced shady dodgy disaster cheat deceive deceit mislead steal fail "
    "failure rob overcharge overrated disappoint disappointing",
}
# Words that share a negative word's stem without being one of its forms ("mente": mind).
_NOT_NEGATIVE = {
    "es": frozenset("mente mentes".split()),
    "en": frozenset("rob robs".split()),  # a name more often than a verb in a reply
}
# An apology is about the brand itself: "sentimos el fallo", "sorry for the bad experience".
# Its words end what is read after a competitor's name, and a negative word sharing their stem
# ("lamentable" / "lamentamos") does not count.
_APOLOGY_WORDS = {
    "es": "sentir lamentar lamentamos sentimos siento disculpa disculpar disculpe perdón "
    "perdona perdonar",
    "en": "sorry apologise apologize apology apologies regret",
}
# "no es de fiar", "isn't reliable": a negation shortly before one of these words criticises.
_TRUST_WORDS = {
    "es": "fiar fiable confiable serio seria honesto honrado cumplir",
    "en": "trust trustworthy trusted reliable honest serious",
}
_NEGATIONS = {
    "es": frozenset("no nunca jamás ni tampoco".split()),
    "en": frozenset("not never no t".split()),  # "isn't" is read as the words "isn" "t"
}
# A clause after the name that still speaks of it: "..., que mintió", "..., who cheat".
_RELATIVES = {
    "es": frozenset("que quien quienes cuyo cuya cuyos cuyas donde".split()),
    "en": frozenset("who which whose that where".split()),
}
# Words between a negative word and the name that tie them together: "la estafa de X",
# "engañados por X", "the awful X", "scammed by X" (not "from X": "moving from X").
_ATTRIBUTIONS = {
    "es": frozenset(
        "de del el la los las lo un una unos unas su sus por esa ese esos esas".split()
    ),
    "en": frozenset("of by the a an its their that those".split()),
}
# Comparisons whose other side is the competitor: the marker, then at most four words that
# only point at the competitor's offer ("más fiable que los de X", "que la que ofrece X",
# "more reliable than the ones X sells", "unlike X", "a diferencia de X", "no como con X").
_COMPARISON_MARKERS = {
    "es": r"(?:mas|menos|mejor|mejores|peor|peores)(?: \w+){0,5} (?:que|de lo que)"
    r"|a diferencia de|no (?:\w+ )?como|frente a|comparad[oa]s? con|en comparacion con"
    r"|al contrario (?:que|de)",
    "en": r"(?:more|less|better|worse|(?!(?:oth|rath|ord|und|ov|aft|nev|whet|oft)er\b)\w{2,}er)"
    r"(?: \w+){0,5} than|unlike|not like|nothing like|compared (?:to|with)|versus|vs"
    r"|as opposed to|in contrast (?:to|with)",
}
_COMPARISON_FILLERS = {
    "es": "el la los las lo de del que con en te os le les su sus ofrece ofrecen da dan tiene "
    "tienen vende venden hace hacen cobra cobran",
    "en": "the ones one what those that of at by with in from you get offered offers offer sells "
    "sell sold gives give has have had charges charge provides provide",
}
_COMPARISONS = {
    lang: re.compile(
        rf"\b(?:{markers})(?: (?:{'|'.join(_COMPARISON_FILLERS[lang].split())})){{0,4}}$"
    )
    for lang, markers in _COMPARISON_MARKERS.items()
}
# After the name, a comparison whose other side is the brand: "X es más cara que nosotros",
# "X charges more than we do" (not "X took longer than expected").
_COMPARED_WITH_US = {
    "es": re.compile(
        r"^(?:\w+ ){0,6}?(?:mas|menos|mejor|mejores|peor|peores|igual de)\b(?: \w+){0,5} que"
        r"(?: con)? (?:nosotros|nosotras|nuestro|nuestra|nuestros|nuestras|aqui|el nuestro"
        r"|la nuestra|los nuestros|las nuestras)\b"
    ),
    "en": re.compile(
        r"^(?:\w+ ){0,6}?(?:more|less|better|worse|(?!(?:oth|rath|ord|und|ov|aft|nev|whet|oft)"
        r"er\b)\w{2,}er)\b(?: \w+){0,5} than (?:us|we|ours|our)\b"
    ),
}
# A sentence right after the name's one that starts with a pronoun for it: "Ellos mienten".
_PRONOUNS = {
    "es": frozenset("ellos ellas".split()),
    "en": frozenset("they their them".split()),
}
_CONNECTIVES = frozenset("y e pero además and but also".split())
# A next sentence with no subject whose verb speaks of the name: "…Telefonix. Mienten siempre.",
# "…Telefonix. Always lying." These adverbs (and Spanish object pronouns: "Te estafaron") may
# stand before that verb.
_LEAD_ADVERBS = {
    "es": frozenset(
        "siempre tambien encima ademas todavia aun ya solo te le les os lo la los las".split()
    ),
    "en": frozenset("always also still just even constantly keep keeps".split()),
}
# A subject-less sentence about the brand itself is not about the competitor: "Fallamos con tu
# pedido, lo sentimos", "Failed on our side".
_FIRST_PERSON = {
    "es": frozenset("nosotros nosotras nuestro nuestra nuestros nuestras nos yo me mi".split()),
    "en": frozenset("we our ours us i my me".split()),
}
# Spanish verb endings of the third person (miente, engaña, mintió, mienten, mintieron); first
# and second persons ("fallamos", "fallé", "mientes") speak of someone else.
_THIRD_PERSON_ES = re.compile(r"(?:[ae]|ó|an|en|on)$")
# English forms a subject-less verb takes: "lying", "lied", "cheats", "lies".
_VERB_FORM_EN = re.compile(r"(?:ing|ed|s)$")
# An English opener in -ed / -ing is often a participle with a subject of its own after it,
# not a verb of the competitor's: "Failed payments are retried", "Failing that, the number
# moves on Monday", "Delivered in 3 days, your order is on its way". Two signs of that subject:
# a clause after a comma that starts with one of these words, or, a word or two after the
# opener, one of these auxiliaries ("Failed payments are…").
_SUBJECT_STARTS_EN = frozenset(
    "the a an this these that those your our my it its we you i he she there everything "
    "everyone".split()
)
_AUXILIARIES_EN = frozenset(
    "is are was were be been will would can could may might must shall should has have had "
    "get gets got".split()
)
# Right after the opener these make it a verb with an object ("Cheated you on every bill").
_OBJECTS_EN = frozenset("you them us him her me".split())
# A sentence that is only a verdict: negative words joined by these ("Terrible.", "Overpriced
# and unreliable.", "Un desastre.").
_VERDICT_FILLERS = {
    "es": frozenset("y e o muy tan totalmente simplemente un una unos unas todo".split()),
    "en": frozenset("and or so very really totally simply just plain utterly too a an".split()),
}
# Punctuation that ends a clause inside a sentence.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]—–]")
_VERB_ENDINGS = frozenset({"ar", "er", "ir"})


class _Stems:
    """Lemmas of one language, matched against the Snowball stems of a text's words.

    Why stems (``engine/stems.py``): a stem covers every inflection of a lemma without a list of
    forms, needs no model or download, and costs microseconds a word. A lemmatiser (spaCy,
    Stanza) would be more exact but brings models of hundreds of megabytes to a check that must
    stay fast and offline.

    Spanish stem-changing verbs ("mentir": miente, mintieron) change the stem's vowel, which a
    stemmer keeps; a word's stem is also tried with the vowel put back (ie → e, ue → o, i → e),
    against the stems of verbs only, so "temo" (temer) never meets "timar".
    """

    def __init__(
        self,
        lang: str,
        lemmas: Iterable[str],
        exclude: Iterable[str] = (),
        not_forms: frozenset[str] = frozenset(),
    ) -> None:
        self._lang = lang
        self._not_forms = not_forms
        self._spanish = lang == "es"
        words = [w.lower() for w in lemmas]
        excluded = frozenset(stems([w.lower() for w in exclude], lang))
        self.stems = frozenset(stems(words, lang)) - excluded
        verbs = [w for w in words if self._spanish and w[-2:] in _VERB_ENDINGS]
        # A verb's root as well as its stem: Snowball cuts "chapucear" to "chapuc" but its
        # forms ("chapuceó", "chapucean") to "chapuce".
        self.verb_stems = (frozenset(stems(verbs, lang)) | frozenset(w[:-2] for w in verbs)) - (
            excluded
        )
        self.stems |= self.verb_stems

    def matches(self, word: str) -> bool:
        lowered = word.lower()
        if lowered in self._not_forms:
            return False
        found = stem(lowered, self._lang)
        if found in self.stems:
            return True
        return self._spanish and self._verb_stem(found)

    def matches_verb(self, word: str) -> bool:
        """Whether `word` is a form of one of the verbs (Spanish) or of any lemma (English)."""
        lowered = word.lower()
        if lowered in self._not_forms:
            return False
        found = stem(lowered, self._lang)
        if not self._spanish:
            return found in self.stems
        return found in self.verb_stems or self._verb_stem(found)

    def _verb_stem(self, found: str) -> bool:
        return (
            found.replace("ie", "e").replace("ue", "o") in self.verb_stems
            or found.replace("i", "e", 1) in self.verb_stems
        )


@dataclass(frozen=True, slots=True)
class _LanguageCues:
    """What criticism of a competitor looks like in one language."""

    negative: _Stems
    apology: _Stems
    trust: _Stems
    negations: frozenset[str]
    relatives: frozenset[str]
    attributions: frozenset[str]
    pronouns: frozenset[str]
    comparison: re.Pattern[str]
    lead_adverbs: frozenset[str]
    first_person: frozenset[str]
    verb_form: re.Pattern[str]


def _language_cues(lang: str, negative_words: Iterable[str]) -> _LanguageCues:
    apology_words = _APOLOGY_WORDS[lang].split()
    return _LanguageCues(
        negative=_Stems(lang, negative_words, exclude=apology_words, not_forms=_NOT_NEGATIVE[lang]),
        apology=_Stems(lang, apology_words),
        trust=_Stems(lang, _TRUST_WORDS[lang].split()),
        negations=_NEGATIONS[lang],
        relatives=_RELATIVES[lang],
        attributions=_ATTRIBUTIONS[lang],
        pronouns=_PRONOUNS[lang],
        comparison=_COMPARISONS[lang],
        lead_adverbs=_LEAD_ADVERBS[lang],
        first_person=_FIRST_PERSON[lang],
        verb_form=_THIRD_PERSON_ES if lang == "es" else _VERB_FORM_EN,
    )


def _competitor_names(rule: Rule, brand: BrandFacts) -> list[Competitor]:
    names: list[Competitor] = list(brand.competitors)
    for entry in rule.params.get("names", []) or []:
        if isinstance(entry, str):
            names.append(Competitor(name=entry))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            aliases = entry.get("aliases", [])
            names.append(Competitor(name=entry["name"], aliases=list(aliases)))
        else:
            raise KindError("'names' lists names or {name, aliases}", "names")
    return names


class CompetitorChecker(Checker):
    """``mode: mention`` flags naming a competitor; ``mode: criticism`` flags a competitor that
    the reply criticises or compares with, wherever the words sit in the sentence:

    - a negative word in any inflection (Snowball stems) after the name, in its clause or in a
      relative clause hanging from it ("Telefonix mintió", "not like X, who cheated ...");
      "no es de fiar" / "isn't reliable" count too; an apology ("sentimos", "sorry") ends it;
    - a negative word tied to the name before it ("la estafa de X", "scammed by X") — not one
      that only shares the sentence ("sorry for the bad experience moving from X");
    - a comparison whose other side is the competitor ("más fiable que los de X",
      "a diferencia de X", "far more reliable than what X offers");
    - the next sentence starting with a pronoun for it ("Telefonix... Ellos mienten"), or
      with no subject at all and a negative verb of the third person first ("…Telefonix.
      Mienten siempre.", "…Telefonix. Always lying."), unless it speaks of the brand itself
      ("Fallamos…", "our side") or apologises, or an English -ed / -ing opener has a subject of
      its own ("Failed payments are retried", "Delivered in 3 days, your order…"); a sentence
      that is only a verdict counts too ("…Telefonix? Terrible.", "Overpriced and unreliable.").
    """

    def __init__(self, rule: Rule, brand: BrandFacts) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, ("mode", "names", "window", "negative_words"))
        self.mode = param_str(params, "mode", "criticism")
        if self.mode not in ("mention", "criticism"):
            raise KindError("mode must be 'mention' or 'criticism'", "mode")
        self.window = param_int(params, "window", 6) or 6
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for competitor in _competitor_names(rule, brand):
            for alias in (competitor.name, *competitor.aliases):
                words = tuple(fold_accents(w) for w in TOKEN_RE.findall(alias))
                if words:
                    self.by_first.setdefault(words[0], []).append((words, competitor.name))
        for candidates in self.by_first.values():
            candidates.sort(key=lambda candidate: -len(candidate[0]))  # longest alias first
        self.first_words = frozenset(self.by_first)
        lemmas: dict[str, set[str]] = {
            lang: set(words.split()) for lang, words in _NEGATIVE_WORDS.items()
        }
        for lang, extra_words in param_by_language(params, "negative_words").items():
            lemmas.setdefault(lang, set()).update(extra_words)
        # Brand words for languages without cues ("*", others) join both languages' lists.
        extra = set().union(*(w for lang, w in lemmas.items() if lang not in _NEGATIVE_WORDS))
        self.cues = {lang: _language_cues(lang, lemmas[lang] | extra) for lang in _NEGATIVE_WORDS}
        self.has_check = bool(self.by_first)

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if not self.by_first or self.first_words.isdisjoint(doc.folded_word_set):
            return ()
        words = doc.folded_words
        hits = []
        for index, word in enumerate(words):
            candidates = self.by_first.get(word)
            if not candidates:
                continue
            for alias_words, name in candidates:
                size = len(alias_words)
                if tuple(words[index : index + size]) != alias_words:
                    continue
                start, end = doc.tokens[index][0], doc.tokens[index + size - 1][1]
                if self.mode == "mention" or self._criticised(doc, words, index, size):
                    hits.append(self.hit(start, end, doc, competitor=name))
                break
        return hits

    def _criticised(self, doc: Document, words: list[str], index: int, size: int) -> bool:
        cues = self.cues.get(doc.lang)
        if cues is None:
            cues = self.cues["en"]
        first, last = _sentence_bounds(doc, index, size)
        # Stems need the words as written: Snowball reads accents ("mintió" → "mint").
        written = [text for _start, _end, text in doc.tokens]
        if self._clause_criticises(doc, written, cues, index + size, last):
            return True
        compared = _COMPARED_WITH_US.get(doc.lang)
        if compared is not None and compared.search(
            " ".join(words[index + size : _clause_end(doc, index + size, last)])
        ):
            return True
        if self._attributed_before(doc, written, cues, index, first):
            return True
        clause_start = index
        while clause_start > first and not _breaks_before(doc, clause_start):
            clause_start -= 1
        if cues.comparison.search(" ".join(words[clause_start:index])):
            return True
        return self._next_sentence_criticises(doc, words, written, cues, last)

    def _clause_criticises(
        self, doc: Document, written: list[str], cues: _LanguageCues, begin: int, end: int
    ) -> bool:
        """Whether the words from `begin` (up to the window, the clause's end, or an apology)
        say something negative of what stands just before them."""
        stop = min(end, begin + self.window)
        negated_at = -10
        for position in range(begin, stop):
            word = written[position]
            lowered = word.lower()
            if position > begin and _breaks_before(doc, position):
                if lowered not in cues.relatives or position - begin > 3:
                    break
            if cues.apology.matches(word):
                break
            if cues.negative.matches(word):
                return True
            if lowered in cues.negations:
                negated_at = position
            elif position - negated_at <= 3 and cues.trust.matches(word):
                return True
        return False

    @staticmethod
    def _attributed_before(
        doc: Document, written: list[str], cues: _LanguageCues, index: int, first: int
    ) -> bool:
        position = index - 1
        while position >= max(first, index - 4):
            if _breaks_before(doc, position + 1):
                return False
            word = written[position]
            if cues.negative.matches(word):
                return True
            if word.lower() not in cues.attributions:
                return False
            position -= 1
        return False

    def _next_sentence_criticises(
        self,
        doc: Document,
        words: list[str],
        written: list[str],
        cues: _LanguageCues,
        last: int,
    ) -> bool:
        position = last
        while position < len(words) and words[position] in _CONNECTIVES:
            position += 1
        if position >= len(words):
            return False
        _first, end = _sentence_bounds(doc, position, 1)
        if words[position] in cues.pronouns:
            return self._clause_criticises(doc, written, cues, position + 1, end)
        return self._subjectless_criticises(doc, words, written, cues, position, end)

    @staticmethod
    def _subjectless_criticises(
        doc: Document,
        words: list[str],
        written: list[str],
        cues: _LanguageCues,
        begin: int,
        end: int,
    ) -> bool:
        """Whether the sentence [begin, end) opens, after a few adverbs, with a negative verb
        of the third person ("Mienten siempre", "Always lying", "Nunca cumplen") that has no
        subject of its own after it, or is only a verdict ("Terrible.", "Un desastre.")."""
        sentence = words[begin:end]
        if not cues.first_person.isdisjoint(sentence) or any(
            cues.apology.matches(word) for word in written[begin:end]
        ):
            return False
        position = begin
        while position < end and position - begin < 3 and words[position] in cues.lead_adverbs:
            position += 1
        if position >= end:
            return False
        if words[position] in cues.negations:
            return any(cues.trust.matches(word) for word in written[position + 1 : position + 4])
        fillers = _VERDICT_FILLERS[doc.lang if doc.lang in _VERDICT_FILLERS else "en"]
        verdict = [written[p] for p in range(position, end) if words[p] not in fillers]
        if verdict and all(cues.negative.matches(w) for w in verdict):
            return True
        word = written[position]
        if not (cues.verb_form.search(word.lower()) and cues.negative.matches_verb(word)):
            return False
        if doc.lang == "es" or word.lower().endswith("s"):
            return True
        return not _participle_has_subject(doc, words, position, end)


def _participle_has_subject(doc: Document, words: list[str], opener: int, end: int) -> bool:
    """Whether the English sentence opened at `opener` (before `end`) by an -ed / -ing word
    has a subject of its own: "Failed payments are retried", "Lying flat, the router fits"."""
    if opener + 1 < end and words[opener + 1] in _OBJECTS_EN:
        return False
    for position in range(opener + 1, end):
        if _breaks_before(doc, position):
            return words[position] in _SUBJECT_STARTS_EN
        if position >= opener + 2 and words[position] in _AUXILIARIES_EN:
            return position <= opener + 3
    return False


def _clause_end(doc: Document, begin: int, end: int) -> int:
    """The index after the last word of the clause that starts at word `begin` (before `end`)."""
    position = begin + 1
    while position < end and not _breaks_before(doc, position):
        position += 1
    return min(position, end)


def _breaks_before(doc: Document, position: int) -> bool:
    """Whether a clause break (comma, semicolon...) stands right before word `position`."""
    if position <= 0 or position >= len(doc.tokens):
        return False
    gap = doc.text[doc.tokens[position - 1][1] : doc.tokens[position][0]]
    return _CLAUSE_BREAK.search(gap) is not None


def _sentence_bounds(doc: Document, index: int, size: int) -> tuple[int, int]:
    """Word indexes [first, last) of the sentence holding the words [index, index + size)."""
    tokens = doc.tokens
    start = tokens[index][0]
    sentence_start, sentence_end = 0, len(doc.text)
    for begin, end in doc.sentences:
        if begin <= start < end:
            sentence_start, sentence_end = begin, end
            break
    first = index
    while first > 0 and tokens[first - 1][0] >= sentence_start:
        first -= 1
    last = index + size
    while last < len(tokens) and tokens[last][1] <= sentence_end:
        last += 1
    return first, last


@kind("competitor")
def compile_competitor(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a competitor rule."""
    return CompetitorChecker(rule, brand)
