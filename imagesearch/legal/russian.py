"""The Russian text rules: child terms by lemma, and ages under 16 ("7 лет", "семилетний", "лет семи").

Words are read by lemma through pymorphy3: every dictionary form a word can have counts ("детьми"
-> ребёнок), so a term fires in any case and number. The lists and decisions are the ``russian``
section of ``terms.yaml``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from imagesearch.legal.rules import register_text_rule
from imagesearch.legal.tokens import Tokenizer
from imagesearch.legal.yaml_files import load_yaml

_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)*|\d+(?:[.,]\d+)?(?:-[а-яё]+)?")
NUMBERS = {"ноль": 0, "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
           "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13,
           "четырнадцать": 14, "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17,
           "восемнадцать": 18, "девятнадцать": 19, "двадцать": 20, "тридцать": 30, "сорок": 40,
           "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80, "девяносто": 90,
           "сто": 100, "полтора": 1.5, "пол": 0.5}
ORDINALS = {"первый": 1, "второй": 2, "третий": 3, "четвёртый": 4, "пятый": 5, "шестой": 6,
            "седьмой": 7, "восьмой": 8, "девятый": 9, "десятый": 10, "одиннадцатый": 11}
# the first part of a compound age word: "семи|летний", "двух|месячный", "5-|летний", "полу|годовалый"
_PREFIXES = {"одно": 1, "дву": 2, "двух": 2, "трёх": 3, "четырёх": 4, "пяти": 5, "шести": 6, "семи": 7,
             "восьми": 8, "девяти": 9, "десяти": 10, "одиннадцати": 11, "двенадцати": 12,
             "тринадцати": 13, "четырнадцати": 14, "пятнадцати": 15, "шестнадцати": 16,
             "семнадцати": 17, "восемнадцати": 18, "двадцати": 20, "тридцати": 30, "сорока": 40,
             "пятидесяти": 50, "полу": 0.5, "полутора": 1.5, "": 1}
_PREFIXES = {key.replace("ё", "е"): value for key, value in _PREFIXES.items()}
_PREFIX_ORDER = sorted(_PREFIXES, key=len, reverse=True)
_COMPOUND_REST = re.compile(r"^(летн|летк|годовал|месячн|недельн)[а-я]*$")
_COMPOUND_UNITS = {"летн": 1.0, "летк": 1.0, "годовал": 1.0, "месячн": 1 / 12, "недельн": 1 / 52}


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    """pymorphy3's Russian analyser, its dictionary named by its package: finding it through the
    installed packages' entry points (pymorphy3's default) reads every package's metadata."""
    import pymorphy3
    import pymorphy3_dicts_ru

    return pymorphy3.MorphAnalyzer(path=pymorphy3_dicts_ru.get_path(), lang="ru")


@lru_cache(maxsize=65536)
def is_dictionary_word(word: str) -> bool:
    """True when the Russian dictionary knows ``word`` (not a guess from its ending)."""
    return bool(_analyzer().word_is_known(word))


@lru_cache(maxsize=65536)
def lemmas(word: str) -> frozenset[str]:
    """Every dictionary form of ``word`` (ё written е), the word itself included."""
    forms = {parse.normal_form for parse in _analyzer().parse(word)} | {word}
    return frozenset(form.replace("ё", "е") for form in forms)


def russian_words(text: str) -> list[str]:
    """Cyrillic words and numbers of a normalised (case-folded) text; hyphenated words split
    ("мальчик-подросток"), except after a digit ("5-летний", "7-ми")."""
    words: list[str] = []
    for word in _WORD.findall(text.replace("ё", "е")):
        words.extend([word] if word[0].isdigit() else [part for part in word.split("-") if part])
    return words


def compound_age(word: str) -> float | None:
    """The age in years a compound word states: "семилетний" 7, "5-летняя" 5, "двухмесячный" 1/6."""
    for prefix in _PREFIX_ORDER:
        if word.startswith(prefix):
            rest = _COMPOUND_REST.match(word[len(prefix):])
            if rest:
                return _PREFIXES[prefix] * _COMPOUND_UNITS[rest.group(1)]
    digits = re.match(r"^(\d+)-?(?:ти|ми|х|и)?-?(летн|летк|годовал|месячн|недельн)", word)
    return float(digits.group(1)) * _COMPOUND_UNITS[digits.group(2)] if digits else None


def _plain(words: Any) -> frozenset[str]:
    return frozenset(str(w).replace("ё", "е") for w in words or [])


def _phrases(phrases: Any) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(w.replace("ё", "е") for w in str(p).split()) for p in phrases or [])


def _starts(phrase: tuple[str, ...], forms: list[frozenset[str]]) -> list[int]:
    return [s for s in range(len(forms) - len(phrase) + 1)
            if all(phrase[k] in forms[s + k] for k in range(len(phrase)))]


@register_text_rule
@dataclass(frozen=True)
class RussianTermRule:
    """Fires on a Russian child term in any form, outside an adult phrase ("взрослый сын")."""

    terms: frozenset[str]
    phrases: tuple[tuple[str, ...], ...] = ()
    exceptions: tuple[tuple[str, ...], ...] = ()
    non_persons: frozenset[str] = frozenset()
    min_allowed_age: float = 16.0
    collisions: frozenset[str] = frozenset()  # Ukrainian or Belarusian words, not terms, in those texts
    name = "term_ru"
    precedence = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "RussianTermRule":
        section = config.get("russian") or {}
        return cls(_plain(section.get("terms")), _phrases(section.get("phrases")),
                   _phrases(section.get("exceptions")), _plain(section.get("non_persons")),
                   float((section.get("age") or {}).get("min_allowed_age", 16)),
                   _plain(section.get("ukrainian_collisions")))

    def evidence(self, text: str) -> list[str]:
        words = russian_words(text)
        if not words or not self.terms:
            return []
        forms = [lemmas(w) for w in words]
        excluded = {i for phrase in self.exceptions for start in _starts(phrase, forms)
                    for i in range(start, start + len(phrase))}
        found = [" ".join(words[start:start + len(phrase)]) for phrase in self.phrases
                 for start in _starts(phrase, forms)]
        east_slavic = bool(self.collisions) and _reads_as_ukrainian_or_belarusian(text)
        for i, (word, word_forms) in enumerate(zip(words, forms)):
            if i in excluded or not word_forms & self.terms:
                continue
            if east_slavic and word_forms & self.collisions:
                continue  # Ukrainian "лялька" is a doll
            if i + 1 < len(words) and forms[i + 1] & self.non_persons:
                continue  # "новорождённый телёнок": an animal
            if self._adult_age_next_to(words, i):
                continue  # "сын 30 лет", "сорокалетнему сыну"
            found.append(word)
        return found

    def _adult_age_next_to(self, words: list[str], i: int) -> bool:
        before = compound_age(words[i - 1]) if i > 0 else None
        after = _number(words[i + 1]) if i + 1 < len(words) else None
        after_unit = i + 2 < len(words) and bool(lemmas(words[i + 2]) & {"год", "лет"})
        return ((before is not None and before >= self.min_allowed_age)
                or (after is not None and after_unit and after >= self.min_allowed_age))


@lru_cache(maxsize=1)
def packaged_term_rule() -> RussianTermRule:
    """The Russian term rule of the packaged terms.yaml (the language lists defer to it)."""
    from pathlib import Path

    config = load_yaml(Path(__file__).with_name("terms.yaml"))
    return RussianTermRule.from_config(config, Tokenizer(frozenset()))


@register_text_rule
@dataclass(frozen=True)
class RussianAgeRule:
    """Fires on a Russian age under the limit: number + unit, unit + number, compound words, grades."""

    min_allowed_age: float
    max_blocked_grade: int
    units: Mapping[str, float]
    span_before: frozenset[str]
    span_after: frozenset[str]
    non_persons: frozenset[str]
    name = "age_ru"
    precedence = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "RussianAgeRule":
        section = config.get("russian") or {}
        age = section.get("age") or {}
        return cls(float(age.get("min_allowed_age", 16)), int(age.get("max_blocked_grade", 9)),
                   {k.replace("ё", "е"): float(v) for k, v in (age.get("units") or {}).items()},
                   _plain(age.get("span_before")), _plain(age.get("span_after")),
                   _plain(section.get("non_persons")))

    def evidence(self, text: str) -> list[str]:
        words = russian_words(text)
        found: list[str] = []
        for i, word in enumerate(words):
            for matcher in (self._number_and_unit, self._compound, self._grade, self._pronoun_then_number):
                span = matcher(words, i)
                if span is not None:
                    found.append(span)
        return found

    def _number_and_unit(self, words: list[str], i: int) -> str | None:
        """A number and a unit side by side, either order: "7 лет", "полтора года", "лет семи"."""
        if i + 1 >= len(words):
            return None
        value = _number(words[i])
        unit = self._unit(words, i + 1) if value is not None else self._unit(words, i)
        if value is None and unit is not None:   # "лет семи" (an approximate age)
            value = _number(words[i + 1])
        if value is None or unit is None or value * unit >= self.min_allowed_age:
            return None
        if self._is_span(words, i, i + 1) or self._about_non_person(words, i - 1, i + 2):
            return None
        return f"{words[i]} {words[i + 1]}"

    def _compound(self, words: list[str], i: int) -> str | None:
        """"семилетний", "5-летняя", "двухмесячный", "годовалый", "трёхлетка"."""
        value = compound_age(words[i])
        if value is None or value >= self.min_allowed_age:
            return None
        if self._about_non_person(words, i - 1, i + 1):
            return None
        return words[i]

    def _grade(self, words: list[str], i: int) -> str | None:
        """"ученик 3 класса", "ученица третьего класса"."""
        at = next((j for j in (i + 1, i + 2) if j < len(words) and "класс" in lemmas(words[j])), None)
        if at is None or (at == i + 2 and len(words[i + 1]) > 1):  # one letter between: "2-го «б» класса"
            return None
        value = _number(words[i]) or next((ORDINALS[f] for f in lemmas(words[i]) if f in ORDINALS), None)
        pupil = any(lemmas(w) & {"ученик", "ученица", "школьник", "школьница"} for w in words[max(0, i - 2):i])
        if value is None or not pupil or value > self.max_blocked_grade:
            return None
        return " ".join(words[i:at + 1])

    def _pronoun_then_number(self, words: list[str], i: int) -> str | None:
        """"ему восемь", "ей 15": an age stated without a unit."""
        if words[i] not in ("ему", "ей") or i + 1 >= len(words):
            return None
        value = _number(words[i + 1])
        if value is None or value >= self.min_allowed_age or self._unit(words, i + 2) is not None:
            return None
        return f"{words[i]} {words[i + 1]}"

    def _unit(self, words: list[str], j: int) -> float | None:
        if j >= len(words):
            return None
        return next((self.units[f] for f in lemmas(words[j]) if f in self.units), None)

    def _is_span(self, words: list[str], first: int, last: int) -> bool:
        before = lemmas(words[first - 1]) if first > 0 else frozenset()
        after = lemmas(words[last + 1]) if last + 1 < len(words) else frozenset()
        return bool(before & self.span_before or after & self.span_after)

    def _about_non_person(self, words: list[str], before: int, after: int) -> bool:
        around = [words[j] for j in (before - 1, before, after) if 0 <= j < len(words)]
        return any(lemmas(w) & self.non_persons for w in around)


def _reads_as_ukrainian_or_belarusian(text: str) -> bool:
    """Letters Russian lacks (і ї є ґ ў) and none that only Russian has (ы э ъ ё)."""
    return bool(re.search("[іїєґў]", text)) and not re.search("[ыэъё]", text)


def _number(word: str) -> float | None:
    """A number in digits ("7", "7-ми", "1,5") or words in any case ("семи", "двух")."""
    digits = re.match(r"^(\d+(?:[.,]\d+)?)(?:-[а-я]+)?$", word)
    if digits:
        return float(digits.group(1).replace(",", "."))
    return next((float(NUMBERS[f]) for f in lemmas(word) if f in NUMBERS), None)
