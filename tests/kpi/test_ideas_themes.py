"""Keyphrases and themes of idea posts, Spanish and English (pure, fast)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.kpi.ideas.keyphrases import keyphrases
from services.kpi.ideas.service import mask_personal_data, window
from services.kpi.ideas.themes import IdeaDoc, group_themes, trend
from services.routing.intents import Intent, get_classifier
from shared.errors import BadRequestError
from tests.kpi.idea_posts import IDEAS, NOT_IDEAS

START = datetime(2026, 11, 1, tzinfo=UTC)


def docs() -> list[IdeaDoc]:
    return [
        IdeaDoc(
            f"{theme}-{index}",
            START + timedelta(hours=index),
            {phrase.key: phrase.surface for phrase in keyphrases(text, lang)},
        )
        for index, (theme, lang, text) in enumerate(IDEAS)
    ]


def test_the_written_ideas_are_ideas_for_the_intent_model_and_the_others_are_not() -> None:
    classifier = get_classifier()
    for _, lang, text in IDEAS:
        assert classifier.classify(text, lang).intent == Intent.feedback_idea, text
    for lang, text in NOT_IDEAS:
        assert classifier.classify(text, lang).intent != Intent.feedback_idea, text


def test_stems_meet_across_word_forms_and_stopwords_are_dropped() -> None:
    spanish = {
        phrase.key for phrase in keyphrases("Modo oscuro, por favor: pantallas oscuras", "es")
    }
    assert "oscur" in spanish
    assert not {"por", "favor"} & spanish
    english = {phrase.key for phrase in keyphrases("Please add payments by phone", "en")}
    assert "payment" in english
    assert "please" not in english
    written = {p.key: p.surface for p in keyphrases("Add a loyalty card, loyalty cards rock", "en")}
    assert written["loyalti card"] == "loyalty card"  # stems inside, words outside


def test_themes_group_what_people_ask_for_in_each_language() -> None:
    themes = group_themes(docs())
    by_label = {theme.label: theme for theme in themes}
    expected = {
        "oscuro": "dark_mode",
        "dark mode": "dark_mode",
        "bizum": "bizum",
        "champú": "big_bottle",
        "loyalty card": "loyalty",
    }
    for label, filed_under in expected.items():
        members = {doc.id.split("-")[0] for doc in by_label[label].ideas}
        assert members == {filed_under}, label
    sizes = Counter(theme for theme, _, _ in IDEAS)
    assert len(by_label["bizum"].ideas) == sizes["bizum"]
    assert len(by_label["oscuro"].ideas) + len(by_label["dark mode"].ideas) == sizes["dark_mode"]
    # what no other idea shares is "other", last
    assert themes[-1].key == ""
    assert [doc.id for doc in themes[-1].ideas] == [f"plugs-{len(IDEAS) - 1}"]
    assert "pagar" in by_label["bizum"].related


def test_themes_are_deterministic_whatever_the_order() -> None:
    forward = [(t.key, [d.id for d in t.ideas]) for t in group_themes(docs())]
    backward = [(t.key, [d.id for d in t.ideas]) for t in group_themes(list(reversed(docs())))]
    assert forward == backward


def test_trend() -> None:
    assert trend(2, 8) == "rising"
    assert trend(8, 2) == "falling"
    assert trend(5, 6) == "steady"
    assert trend(0, 1) == "steady"  # one idea more is no trend


def test_personal_data_is_masked_before_an_idea_is_kept() -> None:
    text = "Idea: avisad por SMS al 612 345 678 o a lucia.g@example.com cuando llegue"
    masked = mask_personal_data(text)
    assert "612" not in masked
    assert "example.com" not in masked
    assert "[phone]" in masked
    assert "[email]" in masked


def test_the_window_defaults_and_bounds() -> None:
    end = datetime(2026, 12, 1, tzinfo=UTC)
    assert window(None, end) == (end - timedelta(days=30), end)
    with pytest.raises(BadRequestError):
        window(None, datetime(1, 1, 2, tzinfo=UTC))  # 30 days before it is out of range
    with pytest.raises(BadRequestError):
        window(end, end)
    with pytest.raises(BadRequestError):
        window(end - timedelta(days=400), end)
