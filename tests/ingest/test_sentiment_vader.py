"""The re-implemented VADER scorer gives exactly the package's figures (see ``vader.py``)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.ingest.enrichment.english import EnglishSentimentAnalyser
from services.ingest.enrichment.lexicon import load_valences
from services.ingest.enrichment.training import PROJECT_DATA, load_split
from services.ingest.enrichment.vader import (
    BOOSTERS,
    NEGATIONS,
    SPECIAL_CASES,
    VaderScorer,
    _but_check,
)

CASES = (
    "VADER is smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Not bad at all",
    "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "On the other hand, VADER is quite bad ass",
    "Without a doubt, excellent idea.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "least good",
    "the very least good thing",
    "no good no bad no or nor worse",
    "no problem at all, no",
    "good good but good good bad bad",
    "but",
    "",
    "   ",
    "!!!???",
    "great?? really??? awful???? ok!!!!!!",
    "ALL CAPS GOOD",
    "SOME caps GOOD but NOT ALL bad",
    "it was kind of the bomb, to die for, yeah right, kiss of death",
    "the kind of love I wanted 😍👍 and 😡",
    "i don't love this, I didn't hate it, it wasn't great, can't complain",
    "never so good, never this bad, without doubt awful",
    "utterly, completely, totally broken and useless",
    "sort of okay, just enough good, kind-of fine",
    "no",
    "'quoted' \"words\" (in) [brackets] good... bad!?",
    "Llevo dos semanas esperando mi pedido y nadie me responde 😡",
    "¡Me encanta la nueva tienda! Gracias 🙌 no está nada mal",
)

_WORDS = (
    sorted(BOOSTERS)
    + sorted(NEGATIONS)
    + sorted(w for phrase in SPECIAL_CASES for w in phrase.split())
    + "good bad great awful love hate happy sad no least at very but kind of so this never "
    "without doubt or nor the a is was it I you refund broken thanks fine ok lol :) :( :D <3 "
    "😍 😡 👍 hola gracias mal genial".split()
)
_DECORATIONS = ("", "", "", "!", "?", ".", ",", "!!", "...", "'", '"', "(", ")")


def _word_salads(count: int, seed: int = 20261201) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        words = []
        for _ in range(rng.randint(1, 25)):
            word = rng.choice(_WORDS)
            shape = rng.random()
            if shape < 0.15:
                word = word.upper()
            elif shape < 0.25:
                word = word.capitalize()
            words.append(rng.choice(_DECORATIONS) + word + rng.choice(_DECORATIONS))
        yield " ".join(words)


def _project_posts() -> list[str]:
    return [
        example.text
        for lang in ("es", "en")
        for name in ("train.tsv", "extra_train.tsv")
        if (PROJECT_DATA / lang / name).is_file()
        for example in load_split(PROJECT_DATA / lang / name)
    ]


@pytest.fixture(scope="module")
def english() -> EnglishSentimentAnalyser:
    return EnglishSentimentAnalyser(load_valences("emoji.tsv"))


@pytest.fixture(scope="module")
def reference(english: EnglishSentimentAnalyser) -> SentimentIntensityAnalyzer:
    """The package's analyser over the very lexicon the project scores with."""
    analyser = SentimentIntensityAnalyzer()
    analyser.lexicon = dict(english.scorer.lexicon)
    analyser.emojis = {}
    return analyser


def _reference_scores(reference: SentimentIntensityAnalyzer, text: str) -> tuple[float, ...]:
    scores = reference.polarity_scores(text)
    return scores["compound"], scores["pos"], scores["neg"]


def test_hand_written_cases_score_exactly_as_vader(
    english: EnglishSentimentAnalyser, reference: SentimentIntensityAnalyzer
) -> None:
    for text in CASES:
        rewritten = english._rewrite(text)
        assert english.scorer.scores(rewritten) == _reference_scores(reference, rewritten), text


def test_word_salads_and_project_posts_score_exactly_as_vader(
    english: EnglishSentimentAnalyser, reference: SentimentIntensityAnalyzer
) -> None:
    texts = [*_word_salads(3000), *_project_posts()]
    assert len(texts) > 4000
    mismatches = [
        text
        for text in texts
        if english.scorer.scores(english._rewrite(text))
        != _reference_scores(reference, english._rewrite(text))
    ]
    assert mismatches == []


def test_the_package_lexicon_alone_scores_as_vader() -> None:
    # Without the project's additions too: the plain package and the scorer agree.
    package = SentimentIntensityAnalyzer()
    package.emojis = {}
    scorer = VaderScorer(package.lexicon)
    for text in [*CASES, *_word_salads(500, seed=7)]:
        assert scorer.scores(text) == _reference_scores(package, text), text


def test_scores_show_the_rules_at_work(english: EnglishSentimentAnalyser) -> None:
    scorer = english.scorer
    good = scorer.scores("the food was good")[0]
    assert scorer.scores("the food was very good")[0] > good > 0
    assert scorer.scores("the food was not good")[0] < 0
    assert scorer.scores("the food was good!!!")[0] > good
    assert scorer.scores("the food was GOOD")[0] > good
    assert scorer.scores("")[0] == 0.0


def test_but_rule_keeps_vaders_first_equal_value_quirk() -> None:
    # VADER rescales the first value equal to each one it visits: with repeated values (and a
    # value equal to another one's rescaling) that is not the value at the visited position.
    rng = random.Random(3)
    lists = [[1.0, 0.0, 2.0, 3.0], [2.0, 0.0, 2.0, 3.0, 3.0]]
    lists += [[float(rng.choice((0, 1, 2, 3, -1, -2, 4.5))) for _ in range(8)] for _ in range(300)]
    for values in lists:
        for but_index in range(len(values)):
            words = ["w"] * len(values)
            words[but_index] = "but"
            expected = SentimentIntensityAnalyzer._but_check(words, list(values))
            ours = list(values)
            _but_check(but_index, ours)
            assert ours == expected, (values, but_index)
