"""The legal rule in every language and spelling (issue #13).

- Russian: the hand-labelled texts (imagesearch/legal/hand_labels_ru.csv, written for this project,
  rule in hand_labels_ru.md) meet recall >= 0.98 and precision >= 0.90;
- spelling: disguises of every labelled child text (fullwidth, zero-width characters, homoglyphs
  of another script, capital I for l, digits for letters) get the same verdict as the plain text;
- serving: search and legal-check refuse a Russian or disguised child query.
"""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagesearch.legal.hand_labels import HAND_LABELS_PATH
from imagesearch.legal.text_rule import load_text_rule

RULE = load_text_rule()
RU_LABELS = pd.read_csv(HAND_LABELS_PATH.with_name("hand_labels_ru.csv"))


def test_russian_labels_are_a_real_evaluation_set() -> None:
    assert len(RU_LABELS) >= 200 and RU_LABELS["text_id"].is_unique
    assert set(RU_LABELS["child"]) == {0, 1} and {"trap", "age", "child_term"} <= set(RU_LABELS["kind"])


def test_russian_rule_recall_and_precision() -> None:
    predicted = RU_LABELS["text"].map(lambda text: RULE.check(text).blocked)
    truth = RU_LABELS["child"] == 1
    recall = (predicted & truth).sum() / truth.sum()
    precision = (predicted & truth).sum() / predicted.sum()
    assert recall >= 0.98 and precision >= 0.90, (recall, precision)


@pytest.mark.parametrize("text, words", [
    ("Девочки танцуют на сцене", ("девочки",)),
    ("Малыши на детской площадке", ("малыши",)),
    ("Мальчику 7 лет", ("мальчику", "7 лет")),
    ("Семилетний пианист на сцене", ("семилетний",)),
    ("Человек лет семи в дождевике", ("лет семи",)),
    ("Ученица 3 класса у доски", ("ученица", "3 класса")),
])
def test_russian_children_are_blocked_in_any_form(text: str, words: tuple[str, ...]) -> None:
    verdict = RULE.check(text)
    assert verdict.blocked and set(words) <= set(verdict.words)


@pytest.mark.parametrize("text", ["Собака бежит по пляжу", "Мужчина едет на велосипеде по городу",
                                  "Мальчишник в баре", "7-летний пёс спит", "Это было 7 лет назад",
                                  "Спортсменка 16 лет", "Взрослый сын с отцом", "Здание детского сада"])
def test_russian_adults_animals_and_time_spans_are_allowed(text: str) -> None:
    assert not RULE.check(text).blocked, RULE.check(text)


# ------------------------------------------------------------------------------ disguises
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і",
              "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y"}
DIGITS = {"o": "0", "е": "3", "e": "3", "i": "1", "l": "1", "a": "4", "s": "5"}


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def disguise(text: str, kind: str, positions: list[int]) -> str:
    chars = list(text)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    if not letters:
        return text
    picked = sorted({letters[p % len(letters)] for p in positions})
    if kind == "fullwidth":
        return _fullwidth(text)
    if kind == "zero_width":
        for i in reversed(picked):
            chars.insert(i + 1, "\u200b")
        return "".join(chars)
    if kind == "soft_hyphen":
        for i in reversed(picked):
            chars.insert(i + 1, "\u00ad")
        return "".join(chars)
    if kind == "homoglyph":
        return "".join(HOMOGLYPHS.get(c, c) if i in picked else c for i, c in enumerate(chars))
    if kind == "capital_i":
        return "".join("I" if c == "l" and i > 0 and chars[i - 1].islower() else c for i, c in enumerate(chars))
    if kind == "digits":
        return "".join(DIGITS.get(c, c) if i in picked and 0 < i < len(chars) - 1
                       and chars[i - 1].isalpha() and chars[i + 1].isalpha() else c
                       for i, c in enumerate(chars))
    raise ValueError(kind)


def _child_texts() -> list[str]:
    # the English hand labels hold dataset ids only (no caption text in git): English examples here
    english = ["A little girl on a swing", "Two boys play soccer", "A toddler eats ice cream",
               "Children running in the park", "A baby in a stroller", "A 7-year-old on a bike",
               "Teenagers at the mall", "My son and daughter at the beach", "schoolchildren in line"]
    return english + RU_LABELS.loc[RU_LABELS["child"] == 1, "text"].tolist()


# the labelled child texts the plain rule blocks (the few it misses are counted by the recall test)
CHILD_TEXTS = [text for text in _child_texts() if RULE.check(text).blocked]


@settings(max_examples=300, deadline=None)
@given(text=st.sampled_from(CHILD_TEXTS),
       kind=st.sampled_from(["fullwidth", "zero_width", "soft_hyphen", "homoglyph", "capital_i", "digits"]),
       positions=st.lists(st.integers(0, 200), min_size=1, max_size=4))
def test_a_disguised_child_text_is_still_blocked(text: str, kind: str, positions: list[int]) -> None:
    disguised = disguise(text, kind, positions)
    assert RULE.check(disguised).blocked, (disguised, kind)


@pytest.mark.parametrize("text", ["ａ ｂｏｙ", "b\u200boy", "gіrl", "girI", "мaльчик", "дeвочка", "ch1ld", "B0YS"])
def test_the_disguises_users_tried_are_blocked(text: str) -> None:
    assert RULE.check(text).blocked


@pytest.mark.parametrize("query", ["Девочки танцуют на сцене", "Малыши на детской площадке", "ａ ｂｏｙ",
                                   "b\u200boy", "gіrl", "girI"])
def test_search_gives_the_disclaimer_in_every_language_and_spelling(searcher, query: str) -> None:
    result = searcher.search(query, k=5)
    assert result.disclaimer and not result.hits
