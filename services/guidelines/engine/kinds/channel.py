"""Channel kinds: length limits (X weighted), links, hashtags, emoji, ALL CAPS and PII."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..dictionary import is_ordinary_word, ordinary_words
from ..models import CheckContext, Rule
from ..text import Document, in_capitals_run, x_weighted_length
from .base import (
    BrandFacts,
    Checker,
    Hit,
    KindError,
    check_known_params,
    kind,
    param_int,
    param_str,
    param_str_list,
)

# Maximum reply length per channel, in characters (X: weighted, see text.x_weighted_length).
DEFAULT_CHANNEL_LIMITS: dict[str, int] = {
    "x": 280,
    "instagram": 2200,
    "facebook": 8000,
    "messenger": 2000,
    "whatsapp": 4096,
    "linkedin": 1250,
    "tiktok": 150,
    "youtube": 10000,
    "google_reviews": 4096,
}


class ChannelLimitChecker(Checker):
    """Flags replies longer than the channel allows; the brand's limits win over defaults."""

    def __init__(self, rule: Rule, brand: BrandFacts) -> None:
        super().__init__(rule)
        check_known_params(rule.params, ("limits",))
        limits = rule.params.get("limits", {})
        if not isinstance(limits, dict) or not all(
            isinstance(v, int) and v > 0 for v in limits.values()
        ):
            raise KindError("'limits' maps channel names to positive integers", "limits")
        self.limits = {**DEFAULT_CHANNEL_LIMITS, **limits, **brand.channel_limits}

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        channel = doc.channel
        limit = self.limits.get(channel or "")
        if limit is None:
            return []
        if channel == "x" and limit == 280:
            length, overflow_at = x_weighted_length(doc.text, doc.urls)
            if overflow_at is None:
                return []
            start = min(overflow_at, len(doc.text) - 1)
        else:
            length = len(doc.text)
            if length <= limit:
                return []
            start = limit
        return [
            self.hit(
                start,
                len(doc.text),
                doc,
                str(limit),
                limit=str(limit),
                length=str(length),
                channel=channel or "",
            )
        ]


class LinkChecker(Checker):
    """``check: shorteners`` refuses URL shorteners; ``check: allowed_domains`` only lets
    through the brand's domains; ``check: insecure`` refuses plain http://."""

    def __init__(self, rule: Rule, brand: BrandFacts) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, ("check", "domains"))
        self.mode = param_str(params, "check", "shorteners")
        if self.mode not in ("shorteners", "allowed_domains", "insecure"):
            raise KindError("check must be shorteners, allowed_domains or insecure", "check")
        domains = [d.lower() for d in param_str_list(params, "domains")]
        if self.mode == "allowed_domains":
            domains.extend(d.lower() for d in brand.allowed_domains)
        self.domains = tuple(dict.fromkeys(domains))

    @staticmethod
    def _domain(url: str) -> str:
        host = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].lower()
        return host.removeprefix("www.")

    def _matches(self, host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        hits = []
        for start, end, url in doc.urls:
            host = self._domain(url)
            if self.mode == "shorteners":
                bad = self._matches(host)
            elif self.mode == "allowed_domains":
                bad = bool(self.domains) and not self._matches(host)
            else:
                bad = url.lower().startswith("http://")
            if bad:
                hits.append(self.hit(start, end, doc, domain=host))
        return hits


class CountChecker(Checker):
    """Flags more than ``max`` hashtags or emoji (the extra ones)."""

    def __init__(self, rule: Rule, what: str) -> None:
        super().__init__(rule)
        check_known_params(rule.params, ("max",))
        self.what = what
        self.max = param_int(rule.params, "max", 2) or 0

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        found = doc.hashtags if self.what == "hashtags" else doc.emoji
        if len(found) <= self.max:
            return ()
        start, end = found[self.max][0], found[-1][1]
        return [self.hit(start, end, doc, str(self.max), max=str(self.max), count=str(len(found)))]


# Uppercase words that are not shouting.
DEFAULT_ACRONYMS = frozenset(
    "DM MD OK FAQ ID DNI NIE NIF CIF IBAN IVA URL SMS PDF USB GPS WIFI TV ONG UE EU USA UK "
    "PIN IT RRHH HR CEO API APP SIM ADSL ATM VAT ETA PS ASAP RGPD GDPR PVP CP OCU IA AI "
    "UPS ZIP DHL SEUR MRW GLS".split()
)


# Three capitals in a row (Latin, Greek, Cyrillic): texts without one cannot shout.
_CAPITALS_RUN = re.compile("[A-ZÀ-ÖØ-ÞΑ-ΩА-Я]{3}")


class ShoutingChecker(Checker):
    """Flags words in capitals beyond ``max_words``; with ``min_share``, flags once a reply
    whose letters are mostly (that share, 0-1) in capitalised words.

    A word in capitals shouts when it is an ordinary word of the reply's language ("MAÑANA",
    "READ") or stands next to another word in capitals ("HOLA MARTA"); one that is neither
    ("RMA", "SEUR") is an acronym, which the acronym rules look after. Languages without a
    word list count every word in capitals.
    """

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, ("max_words", "min_length", "acronyms", "min_share"))
        self.max_words = param_int(params, "max_words", 0) or 0
        self.min_length = param_int(params, "min_length", 3) or 3
        self.acronyms = DEFAULT_ACRONYMS | {a.upper() for a in param_str_list(params, "acronyms")}
        min_share = params.get("min_share")
        if min_share is not None and (
            not isinstance(min_share, int | float)
            or isinstance(min_share, bool)
            or not 0 < min_share <= 1
        ):
            raise KindError("'min_share' is a number above 0 and at most 1", "min_share")
        self.min_share = float(min_share) if min_share is not None else None
        for lang in rule.languages or ("es", "en"):
            ordinary_words(lang)  # read the word list now, not on the first check

    def _shouts(self, text: str, start: int, end: int, lang: str) -> bool:
        word = text[start:end]
        if not ordinary_words(lang) or in_capitals_run(text, start, end):
            return True
        return is_ordinary_word(word, lang)

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        text = doc.text
        if _CAPITALS_RUN.search(text) is None:
            return ()
        if self.min_share is not None:
            return self._check_reply(doc)
        shouted = []
        for start, end, _word in doc.tokens:
            word = text[start:end]
            if (
                end - start >= self.min_length
                and word.isupper()
                and word.isalpha()
                and word not in self.acronyms
                and self._shouts(text, start, end, doc.lang)
            ):
                shouted.append((start, end))
        if len(shouted) <= self.max_words:
            return ()
        return [self.hit(start, end, doc) for start, end in shouted]

    def _check_reply(self, doc: Document) -> list[Hit]:
        text = doc.text
        letters = capitals = 0
        spans = []
        for start, end, _word in doc.tokens:
            word = text[start:end]
            if not word.isalpha():
                continue
            letters += len(word)
            if len(word) >= 2 and word.isupper() and word not in self.acronyms:
                capitals += len(word)
                spans.append((start, end))
        assert self.min_share is not None
        if len(spans) < 3 or capitals < self.min_share * letters:
            return []
        return [self.hit(spans[0][0], spans[-1][1], doc, str(round(100 * capitals / letters)))]


PII_KINDS = ("email", "phone", "card", "iban", "dni", "nie")
# What a ``{kind}`` placeholder reads as, in the reply's language (English for other languages).
PII_KIND_NAMES: dict[str, dict[str, str]] = {
    "es": {
        "email": "correo electrónico",
        "phone": "teléfono",
        "card": "tarjeta",
        "iban": "IBAN",
        "dni": "DNI",
        "nie": "NIE",
    },
    "en": {
        "email": "email address",
        "phone": "phone number",
        "card": "card number",
        "iban": "IBAN",
        "dni": "DNI",
        "nie": "NIE",
    },
}


class PiiChecker(Checker):
    """Flags personal data (shared.pii): emails, phones, cards, IBANs, DNI/NIE. Addresses at
    the brand's own domains (``allowed_domains``) and listed ``allow`` values are not personal."""

    def __init__(self, rule: Rule, brand: BrandFacts) -> None:
        super().__init__(rule)
        check_known_params(rule.params, ("kinds", "allow"))
        self.kinds = frozenset(param_str_list(rule.params, "kinds") or PII_KINDS)
        unknown = self.kinds - set(PII_KINDS)
        if unknown:
            raise KindError(f"unknown PII kinds: {', '.join(sorted(unknown))}", "kinds")
        self.allow = frozenset(a.lower() for a in param_str_list(rule.params, "allow"))
        self.brand_domains = tuple(d.lower() for d in brand.allowed_domains)

    def _is_brand_address(self, email: str) -> bool:
        domain = email.rsplit("@", 1)[-1].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.brand_domains)

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        names = PII_KIND_NAMES.get(doc.lang, PII_KIND_NAMES["en"])
        return [
            self.hit(item.start, item.end, doc, kind=names[item.kind])
            for item in doc.pii
            if item.kind in self.kinds
            and item.text.lower() not in self.allow
            and not (item.kind == "email" and self._is_brand_address(item.text))
        ]


@kind("channel_limit")
def compile_channel_limit(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a channel length rule."""
    return ChannelLimitChecker(rule, brand)


@kind("links")
def compile_links(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a link policy rule."""
    return LinkChecker(rule, brand)


@kind("hashtags")
def compile_hashtags(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a hashtag count rule."""
    return CountChecker(rule, "hashtags")


@kind("emoji")
def compile_emoji(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile an emoji count rule."""
    return CountChecker(rule, "emoji")


@kind("capitals", "shouting")
def compile_shouting(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile an ALL CAPS rule."""
    return ShoutingChecker(rule)


@kind("pii")
def compile_pii(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a personal data rule."""
    return PiiChecker(rule, brand)
