"""From a post to the features of the intent model: normalised tokens, n-grams and rule cues.

Normalisation (the same at training and at classification time):
- lower case; URLs, @mentions and hashtag marks become the words `tok_url`, `tok_mention`,
  `tok_hashtag` (the hashtag's word is kept: "#BoicotMarca" → `tok_hashtag boicotmarca`);
- emoji become names by what they say in customer posts (`emo_clap`, `emo_irony`,
  `emo_angry`, `emo_love`, `emo_money`, ...; any other is `emo`);
- accents are folded ("está" → "esta") but "ñ" is kept; letters repeated 3+ times are cut
  to two ("holaaa" → "holaa");
- slang and chat spellings are expanded per language ("q" → "que", "xq" → "porque", "u" →
  "you", "pls" → "please"), so "xq nadie contesta" and "por qué nadie contesta" meet.

Features: word unigrams and bigrams, character 3- and 4-grams inside word boundaries (typos and
missing accents still share most of them), and the rule cues of `rules.py`. Word and character
features are weighted 1/sqrt(count) so long posts do not outvote short ones; cues weigh 1.
The vocabulary is the set of features seen in training (a hashed space would keep collisions
for nothing: unseen features carry no weight either way), looked up in a dict.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

from shared.text.tokens import EMOJI_RE, MENTION_RE, URL_RE

from .rules import cues

EMOJI_NAMES: Final[dict[str, str]] = {
    **dict.fromkeys("👏", "emo_clap"),
    **dict.fromkeys("🙃🙄🤡😒🤷", "emo_irony"),
    **dict.fromkeys("😡😤🤬😠👎💩", "emo_angry"),
    **dict.fromkeys("😍❤🥰😘💕💖💙💚🧡💜🤍😻", "emo_love"),
    **dict.fromkeys("😂🤣😅😆😹", "emo_laugh"),
    **dict.fromkeys("💰💸💵🤑💶💷", "emo_money"),
    **dict.fromkeys("😭😢😞😔", "emo_sad"),
    **dict.fromkeys("🔥💯⭐🌟👌👍🙌", "emo_good"),
    **dict.fromkeys("🙏", "emo_please"),
    **dict.fromkeys("🚀📈", "emo_rocket"),
    **dict.fromkeys("👉👇➡", "emo_point"),
    **dict.fromkeys("🔁🔄", "emo_repeat"),
    **dict.fromkeys("🤝", "emo_deal"),
    **dict.fromkeys("🎁🎉🎊", "emo_gift"),
    **dict.fromkeys("🔞", "emo_adult"),
}

_ACCENT_FOLD: Final = str.maketrans("áéíóúàèìòùäëïöüâêîôûç’‘´", "aeiouaeiouaeiouaeiouc'''")
_HASHTAG_RE: Final = re.compile(r"#(\w+)")
_REPEATS_RE: Final = re.compile(r"([a-zñ])\1{2,}")
_TOKEN_RE: Final = re.compile(r"[a-zñ0-9_]+(?:['&/-][a-zñ0-9]+)*|\?|!|[€$£%]")

SLANG: Final[dict[str, dict[str, str]]] = {
    "es": {
        "q": "que",
        "k": "que",
        "ke": "que",
        "xq": "porque",
        "pq": "porque",
        "porq": "porque",
        "xk": "porque",
        "x": "por",
        "xfa": "por favor",
        "porfa": "por favor",
        "porfi": "por favor",
        "pls": "por favor",
        "plis": "por favor",
        "tb": "tambien",
        "tmb": "tambien",
        "tbn": "tambien",
        "d": "de",
        "wenas": "buenas",
        "dnd": "donde",
        "pa": "para",
        "toy": "estoy",
        "nse": "no se",
        "msj": "mensaje",
        "finde": "fin de semana",
        "cel": "celular",
        "xd": "jaja",
        "jajaja": "jaja",
        "jajajaja": "jaja",
        "jeje": "jaja",
        "ud": "usted",
        "uds": "ustedes",
        "vd": "usted",
        "dm": "privado",
        "md": "privado",
    },
    "en": {
        "u": "you",
        "ur": "your",
        "pls": "please",
        "plz": "please",
        "im": "i'm",
        "dont": "don't",
        "cant": "can't",
        "wont": "won't",
        "isnt": "isn't",
        "didnt": "didn't",
        "doesnt": "doesn't",
        "ive": "i've",
        "id": "i'd",
        "thx": "thanks",
        "ty": "thanks",
        "rn": "right now",
        "bday": "birthday",
        "wanna": "want to",
        "gonna": "going to",
        "gotta": "got to",
        "y'all": "you all",
        "cuz": "because",
        "coz": "because",
        "idk": "i don't know",
        "tbh": "to be honest",
        "lmao": "lol",
        "lmaooo": "lol",
        "lmaoo": "lol",
        "ppl": "people",
        "msg": "message",
        "dms": "dm",
        "b4": "before",
        "whats": "what's",
        "thats": "that's",
        "its": "it's",
        "hiya": "hi",
        "yo": "hey",
    },
}
# Without a known language, expansions that do not clash between the two ("x", "u", "id",
# "its" mean something else in the other language).
SLANG["und"] = {
    key: value
    for key, value in {**SLANG["en"], **SLANG["es"]}.items()
    if key not in {"x", "u", "id", "its", "d", "pa", "dm", "pls"}
}

CHAR_SIZES: Final = (3, 4)
CHAR_MIN_WORD: Final = 3  # shorter words are left to the word features


def _emoji_name(match: Any) -> str:  # a `regex` match (the module ships no stubs)
    return f" {EMOJI_NAMES.get(match.group()[0], 'emo')} "


def normalise(text: str, lang: str) -> list[str]:
    """The tokens of `text` after the normalisation described in the module docstring."""
    text = text.lower()
    if "http" in text or "www." in text:
        text = URL_RE.sub(" tok_url ", text)
    if "@" in text:
        text = MENTION_RE.sub(" tok_mention ", text)
    if "#" in text:
        text = _HASHTAG_RE.sub(r" tok_hashtag \1 ", text)
    if not text.isascii():  # emoji are never ASCII; skip the scan for plain posts
        text = EMOJI_RE.sub(_emoji_name, text)
    text = _REPEATS_RE.sub(r"\1\1", text.translate(_ACCENT_FOLD))
    slang = SLANG.get(lang, SLANG["und"])
    tokens: list[str] = []
    for token in _TOKEN_RE.findall(text):
        expanded = slang.get(token)
        if expanded is None:
            tokens.append(token)
        else:
            tokens.extend(expanded.split())
    return tokens


def char_ngrams(token: str) -> list[str]:
    """Character n-grams of one token, inside its word boundaries (none for short tokens and
    for the emoji/URL/mention words). They carry no prefix: the only features without a ':'."""
    if len(token) < CHAR_MIN_WORD or token.startswith(("emo_", "tok_")):
        return []
    padded = f" {token} "
    size = len(padded)
    return [padded[start : start + n] for n in CHAR_SIZES for start in range(size - n + 1)]


def cue_features(tokens: list[str], lang: str) -> list[str]:
    """Rule cues of `lang` ("und": both languages), plus the post's length and shape."""
    found = cues(tokens, ("es", "en") if lang == "und" else (lang,))
    count = len(tokens)
    found.append("len:1" if count <= 1 else "len:2-3" if count <= 3 else "len:4+")
    if not tokens or all(token.startswith(("emo", "tok_")) for token in tokens):
        found.append("only:symbols")
    return found


@dataclass(frozen=True, slots=True)
class Features:
    """The features of one post: text features (weighted together) and rule cues."""

    text: list[str]
    cues: list[str]

    @property
    def text_weight(self) -> float:
        return text_weight(len(self.text))


def text_weight(count: int) -> float:
    return 1.0 / math.sqrt(count) if count else 0.0


def extract(text: str, lang: str) -> Features:
    """Features of `text` under the rules of `lang` ("es", "en", or "und" for both), by name
    (training reads them; `IntentModel.score_tokens` computes the same scores faster)."""
    tokens = normalise(text, lang)
    features: list[str] = [f"w:{token}" for token in tokens]
    features.extend(f"b:{left} {right}" for left, right in zip(tokens, tokens[1:], strict=False))
    for token in tokens:
        features.extend(char_ngrams(token))
    return Features(text=features, cues=cue_features(tokens, lang))
