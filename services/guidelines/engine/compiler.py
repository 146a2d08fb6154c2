"""Compile a brand's guideline once, then check texts fast.

Compilation applies the brand's overrides, builds every rule's checker, and, per language and
channel, merges the literal phrases of all existence/substitution rules into one shared phrase
index: a check looks each word up once instead of running one regex per rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import RuleLoadError, TextTooLongError
from .kinds import KIND_COMPILERS, BrandFacts, Checker, Hit, KindError, PhraseSpec
from .kinds.base import render_message
from .loader import load_default_packs, load_pack
from .models import CheckContext, CheckResult, GuidelineConfig, Rule, RulePack, Span, Violation
from .scoring import band, publish_blockers, score_violations
from .text import TOKEN_RE, Document

MAX_TEXT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class _IndexedPhrase:
    words: tuple[str, ...]
    original: tuple[str, ...]  # as written, for case-sensitive phrases
    checker: Checker
    spec: PhraseSpec
    lowered_suggestions: frozenset[str]


class _TrieNode:
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.entries: list[_IndexedPhrase] = []


class PhraseIndex:
    """Every literal phrase of a set of rules in one word trie (lowercase words).

    A check walks the trie from each word of the text: one dict lookup per word, and a short
    walk only where a phrase starts, however many rules and phrases the guideline has.
    """

    def __init__(self, checkers: list[Checker]) -> None:
        self.root = _TrieNode()
        self.size = 0
        for checker in checkers:
            for spec in checker.phrases:
                original = tuple(TOKEN_RE.findall(spec.phrase))
                words = tuple(word.lower() for word in original)
                if not words:
                    continue
                node = self.root
                for word in words:
                    child = node.children.get(word)
                    if child is None:
                        child = node.children[word] = _TrieNode()
                    node = child
                node.entries.append(
                    _IndexedPhrase(
                        words,
                        original,
                        checker,
                        spec,
                        frozenset(s.lower() for s in spec.suggestions),
                    )
                )
                self.size += 1
        self.first_words = frozenset(self.root.children)

    def find(self, doc: Document) -> list[tuple[Checker, Hit]]:
        """Return (checker, hit) for every phrase occurrence in ``doc``.

        The walk uses the words only; offsets and the gaps between words (a phrase may not
        run across a comma or a full stop) are looked at only for complete matches.
        """
        roots = self.root.children
        found: list[tuple[Checker, Hit]] = []
        if self.first_words.isdisjoint(doc.word_set):
            return found
        words = doc.words
        count = len(words)
        for index, word in enumerate(words):
            node = roots.get(word)
            if node is None:
                continue
            position = index
            while True:
                if node.entries and all(
                    doc.joinable(gap) for gap in range(index + 1, position + 1)
                ):
                    self._collect(doc, doc.tokens, index, position, node.entries, found)
                position += 1
                if position >= count or not node.children:
                    break
                next_node = node.children.get(words[position])
                if next_node is None:
                    break
                node = next_node
        return _without_overlaps(found) if len(found) > 1 else found

    @staticmethod
    def _collect(
        doc: Document,
        tokens: list[tuple[int, int, str]],
        first: int,
        last: int,
        entries: list[_IndexedPhrase],
        found: list[tuple[Checker, Hit]],
    ) -> None:
        start, end = tokens[first][0], tokens[last][1]
        match = doc.text[start:end]
        lowered = match.lower()
        for entry in entries:
            spec = entry.spec
            if (
                spec.case_sensitive
                and tuple(doc.text[s:e] for s, e, _w in tokens[first : last + 1]) != entry.original
            ):
                continue
            if lowered in spec.exceptions:
                continue
            # A match that already is the preferred term is fine (Vale does the same).
            if (
                match in spec.suggestions
                if spec.case_sensitive
                else lowered in entry.lowered_suggestions
            ):
                continue
            found.append((entry.checker, _phrase_hit(entry, start, end, match, doc.lang)))


def _without_overlaps(found: list[tuple[Checker, Hit]]) -> list[tuple[Checker, Hit]]:
    """One hit per rule per stretch of text: "dear valued customer" and "valued customer" of
    the same rule report once, the longest, as a regex alternation would."""
    found.sort(key=lambda item: (item[1].start, -item[1].end))
    kept = []
    covered_until: dict[int, int] = {}
    for checker, hit in found:
        if hit.start < covered_until.get(id(checker), -1):
            continue
        covered_until[id(checker)] = hit.end
        kept.append((checker, hit))
    return kept


def _phrase_hit(entry: _IndexedPhrase, start: int, end: int, match: str, lang: str) -> Hit:
    rule = entry.checker.rule
    suggestions = entry.spec.suggestions
    template = rule.message_for(lang)
    if suggestions:
        joined = " / ".join(suggestions)
        message = render_message(template, match, joined, match, suggestion=joined)
    else:
        message = render_message(template, match)
        suggestions = rule.suggestions_for(lang)
    return Hit(start, end, message, suggestions)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to run for one (language, channel)."""

    index: PhraseIndex
    checkers: tuple[Checker, ...]


class CompiledGuideline:
    """A brand's guideline, ready to check texts. Build with ``compile_guideline`` and cache
    it per guideline version; it is immutable apart from its per-(lang, channel) plans."""

    def __init__(self, config: GuidelineConfig, rules: list[Rule], checkers: list[Checker]):
        self.config = config
        self.rules = tuple(rules)
        self._checkers = tuple(checkers)
        self._plans: dict[tuple[str, str | None], _Plan] = {}

    def _plan(self, lang: str, channel: str | None) -> _Plan:
        key = (lang, channel)
        plan = self._plans.get(key)
        if plan is None:
            selected = [
                checker
                for checker in self._checkers
                if (not checker.rule.languages or lang in checker.rule.languages)
                and (not checker.rule.channels or (channel in checker.rule.channels))
            ]
            plan = _Plan(PhraseIndex(selected), tuple(c for c in selected if c.has_check))
            self._plans[key] = plan
        return plan

    def check(
        self,
        text: str,
        *,
        lang: str,
        channel: str | None = None,
        context: CheckContext | None = None,
    ) -> CheckResult:
        """Check ``text`` (a reply in ``lang``, for ``channel``) and explain every violation.

        Raises TextTooLongError over 64 KiB of UTF-8.
        """
        # 4 bytes per character at most: short texts need no encoding to be measured.
        if len(text) > MAX_TEXT_BYTES // 4:
            size = len(text.encode("utf-8"))
            if size > MAX_TEXT_BYTES:
                raise TextTooLongError(size, MAX_TEXT_BYTES)
        plan = self._plan(lang, channel)
        doc = Document(text, lang, channel)
        found = plan.index.find(doc)
        skipped: list[str] = []
        for checker in plan.checkers:
            try:
                for hit in checker.check(doc, context):
                    found.append((checker, hit))
            except TimeoutError:
                skipped.append(checker.rule.id)
        # Plain construction: pydantic-core validates faster than model_construct builds.
        violations = [
            Violation(
                rule_id=checker.rule.id,
                level=checker.rule.level,
                goal=checker.rule.goal,
                message=hit.message,
                span=Span(start=hit.start, end=hit.end),
                match=text[hit.start : hit.end],
                suggestions=list(hit.suggestions),
            )
            for checker, hit in found
        ]
        violations.sort(key=lambda v: (v.span.start, v.span.end, v.rule_id))
        score, goal_scores = score_violations(violations)
        blockers = publish_blockers(self.config.publish_policy, violations, score, lang)
        return CheckResult(
            passed=not blockers,
            blockers=blockers,
            policy=self.config.publish_policy,
            score=score,
            goal_scores=goal_scores,
            band=band(score),
            violations=violations,
            skipped_rules=skipped,
        )


def _terminology_rules(config: GuidelineConfig) -> list[Rule]:
    """The brand's deprecated terms as substitution rules (one per language)."""
    swaps: dict[str | None, dict[str, str]] = {}
    case_sensitive: dict[str | None, bool] = {}
    for entry in config.terminology:
        if entry.status != "deprecated" or not entry.preferred:
            continue
        swaps.setdefault(entry.lang, {})[entry.term] = entry.preferred
        case_sensitive[entry.lang] = case_sensitive.get(entry.lang, False) or entry.case_sensitive
    rules = []
    for lang, swap in swaps.items():
        rules.append(
            Rule(
                id=f"brand.terminology.{lang or 'all'}",
                kind="substitution",
                level="warning",
                goal="standards",
                message="Brand terminology: use '%s' instead of '%s'.",
                messages={
                    "es": "Terminología de la marca: usa '%s' en lugar de '%s'.",
                    "en": "Brand terminology: use '%s' instead of '%s'.",
                },
                languages=(lang,) if lang else (),
                params={"swap": swap, "ignorecase": not case_sensitive[lang]},
                source="guideline.terminology",
            )
        )
    return rules


def compile_guideline(
    config: GuidelineConfig, packs: dict[str, RulePack] | None = None
) -> CompiledGuideline:
    """Compile a brand's guideline: chosen packs, overrides, terminology, custom rules.

    ``packs`` defaults to the shipped packs. Raises RuleLoadError for an unknown pack, an
    override of an unknown rule or invalid params.
    """
    available = load_default_packs() if packs is None else packs
    rules: list[Rule] = []
    for pack_id in config.packs:
        pack = available.get(pack_id)
        if pack is None:
            raise RuleLoadError(f"unknown pack {pack_id!r}", source="guideline")
        rules.extend(pack.rules)
    if config.custom_rules:
        rules.extend(load_pack(config.custom_rules, source="guideline.custom_rules").rules)
    known = {rule.id for rule in rules}
    for rule_id in config.overrides:
        if rule_id not in known:
            raise RuleLoadError("override of an unknown rule", source="guideline", rule_id=rule_id)
    effective: list[Rule] = []
    for rule in rules:
        override = config.overrides.get(rule.id)
        if override is not None:
            if not override.enabled:
                continue
            rule = replace(
                rule,
                level=override.level or rule.level,
                params={**rule.params, **override.params},
            )
        effective.append(rule)
    effective.extend(_terminology_rules(config))
    brand = BrandFacts(
        competitors=tuple(config.competitors),
        formality=config.formality,
        channel_limits=dict(config.channel_limits),
        allowed_domains=tuple(config.allowed_domains),
        terminology=tuple(config.terminology),
    )
    checkers = []
    for rule in effective:
        try:
            checkers.append(KIND_COMPILERS[rule.kind](rule, brand))
        except KindError as exc:
            raise RuleLoadError(
                exc.reason, source=rule.source or "guideline", rule_id=rule.id, line=rule.line
            ) from exc
    return CompiledGuideline(config, effective, checkers)
