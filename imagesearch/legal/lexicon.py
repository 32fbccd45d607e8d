"""Child terms in the languages beside English and Russian: one reviewed list per language.

``lexicons/<lang>.yaml`` holds a language's terms (lemmas), the forms a library lacks, phrases,
exceptions (phrases in which a term is not about a child: "azul bebé", "il mio ragazzo"),
collisions with other languages ("kind" in English), ages under 16 as regular expressions, and
the decision beside every debatable word. ``lexicons/forms.json`` (written by
:mod:`imagesearch.legal.lexicon_forms` from simplemma and pymorphy3) maps every inflected form of a
term to its lemma, so no dictionary is loaded while searching. A lexicon is read on first use,
from ``lexicons/compiled.json`` (every list folded, written by
:mod:`imagesearch.legal.lexicon_compiled` from :mod:`imagesearch.legal.lexicon_build`'s output and
used only while it matches its sources), so a query reads only the lists of its script.

Words are compared after :func:`~imagesearch.legal.folding.fold_word`: the normaliser's reading (case folded, accents
dropped) with the letters a keyboard may lack read plainly (Turkish ı -> i, Polish ł -> l;
apostrophes dropped inside Cyrillic words: "п'ять" -> "пять"). A word also fires when it is one
edit from a term form of five letters or more ("bambinni") and no dictionary knows it
(``near_words``).
"""
from __future__ import annotations

import json
import re
from contextvars import ContextVar
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from imagesearch.legal.folding import fold_text
from imagesearch.legal.phrases import PhraseIndex
from imagesearch.legal.spelling import deletions, one_edit_apart

LEXICON_DIR = Path(__file__).with_name("lexicons")
FORMS_PATH = LEXICON_DIR / "forms.json"
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "pl", "tr", "uk", "be", "kk", "ru")
MIN_FUZZY = 5
MIN_ADULT_AGE = 16.0
_APOSTROPHES = "'’ʼ`ʹ"
_LATIN_WORD = re.compile(r"[^\W_]+")
_CYRILLIC_WORD = re.compile(r"[^\W_]+")
_NOT_RUSSIAN = re.compile("[іїєґўәғқңөұүһ]")  # Ukrainian, Belarusian and Kazakh letters
_BARE_ADULT_AGE = re.compile(r"^\W{0,3}(?:\(|,)\s*(\d{2,3})\s*(?:\)|,|$|[^\W\d_]{0,5}\))")


@lru_cache(maxsize=1)
def generated_forms() -> dict[str, Any]:
    """``forms.json``: the libraries' forms of the terms, and the dictionary words near them."""
    return json.loads(FORMS_PATH.read_text(encoding="utf-8")) if FORMS_PATH.is_file() else {}


def russian_forms() -> Mapping[str, str]:  # every form of the Russian terms (pymorphy3 lexemes) -> lemma
    return generated_forms().get("forms", {}).get("ru", {})


@lru_cache(maxsize=None)
def near_words(script: str) -> frozenset[str]:  # dictionary words one edit from a term form
    return frozenset(generated_forms().get("near_words", {}).get(script, []))


@lru_cache(maxsize=None)
def load_lexicon(lang: str) -> Lexicon:
    """``lang``'s list, from ``compiled.json``, or built from its sources when that file is out of date."""
    from imagesearch.legal.lexicon_compiled import compiled_lexicons, from_data

    stored = compiled_lexicons()
    if stored is not None:
        return from_data(stored[lang])
    from imagesearch.legal.lexicon_build import build_lexicon

    return build_lexicon(lang)


def lexicon_script(lang: str) -> str:
    """Which texts ``lang``'s list reads ("latin" or "cyrillic"), without compiling the list."""
    from imagesearch.legal.lexicon_compiled import compiled_lexicons

    stored = compiled_lexicons()
    return stored[lang]["script"] if stored is not None else load_lexicon(lang).script


@lru_cache(maxsize=None)
def script_languages(script: str) -> tuple[str, ...]:
    return tuple(lang for lang in LANGUAGES if lexicon_script(lang) == script)


def fuzzy_index(anchors: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each anchor form of MIN_FUZZY letters or more, and each one deletion of it -> the forms."""
    fuzzy: dict[str, list[str]] = {}
    for form in sorted(anchors):
        if len(form) >= MIN_FUZZY and form.isalpha():
            for key in {form, *deletions(form)}:
                fuzzy.setdefault(key, []).append(form)
    return {key: tuple(forms) for key, forms in fuzzy.items()}


@lru_cache(maxsize=None)
def non_persons(script: str) -> frozenset[str]:
    """Every list's animals and things of one script: a dog is no child in any of them."""
    return frozenset().union(*(load_lexicon(lang).non_persons for lang in script_languages(script)))


@dataclass
class Lexicon:
    """One language's reviewed list, compiled for matching."""

    lang: str
    script: str
    terms: dict[str, str]                              # folded form -> lemma
    stems: re.Pattern[str] | None
    heads: tuple[str, ...]
    head_exceptions: frozenset[str]
    phrases: tuple[tuple[tuple[str, ...], ...], ...]
    exceptions: tuple[tuple[tuple[str, ...], ...], ...]
    collisions: Mapping[str, tuple[str, ...]]
    markers: frozenset[str]
    age_patterns: tuple[tuple[re.Pattern[str], Any], ...]
    numbers: Mapping[str, float]
    max_grade: int
    non_persons: frozenset[str]
    adult_age_before: int = 3   # how far before a term an adult age vetoes it (characters)
    proper_noun_apostrophe: bool = False
    kazakh_fold: bool = False
    fuzzy: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a form, or one deletion of it -> forms
    anchors: dict[str, str] = field(default_factory=dict)            # the forms misspellings are read against
    real_words: frozenset[str] = frozenset()  # one edit from a term, yet a word ("дзяўчына"): no misspelling
    silent: frozenset[str] = frozenset()      # forms known here (for the other lists) but fired elsewhere
    plural_match: bool = False                # English phrases match plurals ("baby boomers")
    not_blocked: frozenset[str] = frozenset() # decided not blocked: known here, never fired by any list
    russian_terms: frozenset[str] = frozenset()
    not_forms: frozenset[str] = frozenset()   # words that look like a term's form and are not ("балама")
    context_vetoes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lemma -> word starts
    fires_only: frozenset[str] | None = None  # en, ru: the reviewed rule fires on the terms; here only these
    # a child word as the modifier of a compound whose head names the person or a picture of them
    # ("Kinderdarstellerin", "Neugeborenenshooting"); "Kinderarzt", "Kinderwagen" end in another head
    modifiers: tuple[str, ...] = ()
    modifier_heads: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ words
    def exact_lemma(self, word: str) -> str | None:  # the term a word is written as a form of
        if self.not_blocked and word in self.not_blocked:
            return word
        if self.lang == "ru" and word.isalpha():
            from imagesearch.legal.russian import lemmas

            found = lemmas(word) & self.russian_terms
            if found:
                return min(found)
            if lemmas(word) & self.not_blocked:
                return word
        if word in self.terms:
            return self.terms[word]
        if self.stems is not None and (match := self.stems.fullmatch(word)):
            return match.lastgroup and match.group(match.lastgroup) or word
        for head in self.heads if FUZZY.get() else ():  # a compound is no disguised word
            if word.endswith(head) and len(word) - len(head) >= 3 and word not in self.head_exceptions:
                return self.terms.get(head, head)
        for modifier in self.modifiers if FUZZY.get() else ():
            if word.startswith(modifier) and word[len(modifier):] in self.modifier_heads:
                return self.terms.get(modifier, modifier)
        return None

    def misspelt(self, word: str) -> str | None:
        """The term ``word`` is one edit from (five letters or more), unless it is a real word."""
        if (len(word) < MIN_FUZZY or not self.fuzzy or not word.isalpha() or word in near_words(self.script)
                or word in self.real_words):
            return None
        if self.lang == "ru":
            from imagesearch.legal.russian import is_dictionary_word

            if is_dictionary_word(word):
                return None
        for key in [word, *deletions(word)]:
            for form in self.fuzzy.get(key, ()):
                if one_edit_apart(word, form):
                    return self.anchors[form]
        return None

    def _readings(self, words: list[str]) -> list[frozenset[str]]:  # what a phrase token may match
        if self.plural_match:
            from imagesearch.legal.tokens import plural_forms

            return [plural_forms(w) for w in words]
        return [frozenset({w, lemma}) if (lemma := self.exact_lemma(w)) else frozenset({w}) for w in words]

    @cached_property
    def phrase_index(self) -> PhraseIndex:
        return PhraseIndex(self.phrases)

    @cached_property
    def exception_index(self) -> PhraseIndex:
        return PhraseIndex(self.exceptions)

    # ------------------------------------------------------------------ text
    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) in the folded text; words split at apostrophes ("l'enfant"), the same
        way in every list of a script, so the lists can agree word by word."""
        pattern = _LATIN_WORD if self.script == "latin" else _CYRILLIC_WORD
        return [(m.group(), m.start(), m.end()) for m in pattern.finditer(text)]

    def reads_as(self, words: list[str], others: tuple[str, ...]) -> bool:
        """True when ``words`` hold more marker words of one of ``others`` than of this language."""
        own = sum(w in self.markers for w in words)
        return any(sum(w in load_lexicon(o).markers for w in words) > own for o in others)

    def analyse(self, reading: str) -> "Analysis":
        """What this list sees in a normalised reading (before the lists of its script agree)."""
        text = fold_text(reading, self.lang)
        tokens = self.tokens(text)
        words = [w for w, _, _ in tokens]
        ages = self.ages(text)
        readings = self._readings(words)
        excluded = {i for number, s in self.exception_index.matches(readings, words)
                    for i in range(s, s + len(self.exceptions[number]))}
        phrases = [(s, s + len(self.phrases[number])) for number, s in self.phrase_index.matches(readings, words)]
        lemmas: dict[int, str] = {}
        vetoed: set[int] = set(excluded)
        for i, (word, start, end) in enumerate(tokens):
            lemma = self.exact_lemma(word)
            if lemma is None:
                continue
            lemmas[i] = lemma
            if lemma in self.not_blocked or word in self.not_forms:
                vetoed.add(i)
            elif self.proper_noun_apostrophe and text[end:end + 1] == "'" and text[end + 1:end + 2].isalpha():
                vetoed.add(i)  # Turkish "Bebek'te": a suffix after an apostrophe marks a name
            elif lemma in self.context_vetoes and any(w.startswith(self.context_vetoes[lemma]) for w in words):
                vetoed.add(i)  # "chicas en la discoteca": an adult scene
            elif lemma in self.collisions and self.reads_as(words, self.collisions[lemma]):
                vetoed.add(i)
            elif self._adult_age_beside(text, ages, start, end):
                vetoed.add(i)
        if self.lang == "ru" and lemmas:  # the Russian rule's own decision stands ("сын 30 лет")
            from imagesearch.legal.russian import is_dictionary_word, packaged_term_rule

            fired = set(packaged_term_rule().evidence(text))
            vetoed |= {i for i in lemmas if words[i] not in fired and words[i] not in (self.fires_only or ())}
        if self.lang == "ru" and not _NOT_RUSSIAN.search(text):
            # a Russian text: a word Russian knows as another word is that word ("сине-жёлтый", not
            # the Ukrainian vocative of "син")
            from imagesearch.legal.russian import is_dictionary_word
            for i, word in enumerate(words):
                if i not in lemmas and len(word) > 1 and word.isalpha() and is_dictionary_word(word):
                    lemmas[i] = "~" + word
                    vetoed.add(i)
        return Analysis(self, words, lemmas, vetoed, phrases, ages)

    def ages(self, text: str) -> list[tuple[str, float | None, int, int]]:
        """(span, age in years or None for a non-person, start, end) for each stated age."""
        out = []
        for pattern, unit in self.age_patterns if AGES.get() else ():
            for match in pattern.finditer(text):
                value = self._number(match.group("n")) if "n" in pattern.groupindex else 1.0
                if value is None:
                    continue
                if unit == "grade":
                    years = 6.0 + value if value <= self.max_grade else MIN_ADULT_AGE
                else:
                    years = value * float(unit)
                if self._non_person_near(text, match.start(), match.end()):
                    years = None
                out.append((match.group(), years, match.start(), match.end()))
        return out

    def _number(self, token: str) -> float | None:
        token = token.strip()
        if re.fullmatch(r"\d+(?:[.,]\d+)?", token):
            return float(token.replace(",", "."))
        return self.numbers.get(token)

    def _non_person_near(self, text: str, start: int, end: int) -> bool:
        """An animal or a thing just before or after an age ("perro de 12 años"), in any list."""
        before = [w for w, _, _ in self.tokens(text[:start])][-2:]
        after = [w for w, _, _ in self.tokens(text[end:])][:1]
        return any(w in non_persons(self.script) for w in before + after)

    def _adult_age_beside(self, text: str, ages: list, start: int, end: int) -> bool:
        """An age of 16 or more right after or before a term ("hijo de 40 años", "Sohn (40)")."""
        for _, value, a, b in ages:
            if value is not None and value >= MIN_ADULT_AGE and (0 <= a - end <= 12
                                                                 or 0 <= start - b <= self.adult_age_before):
                return True
        bare = _BARE_ADULT_AGE.match(text[end:end + 16])
        return bool(bare and int(bare.group(1)) >= MIN_ADULT_AGE)


@lru_cache(maxsize=16384)
def analyse(lang: str, reading: str, fuzzy: bool, ages: bool) -> Analysis:
    """:meth:`Lexicon.analyse`, remembered (the context flags are part of the key)."""
    return load_lexicon(lang).analyse(reading)


@dataclass
class Analysis:
    """One list's view of a reading: the words, the terms it knows (index -> lemma), the words it
    vetoes (an exception, a collision, an adult age beside them), its phrases and ages."""

    lexicon: Lexicon
    words: list[str]
    lemmas: dict[int, str]
    vetoed: set[int]
    phrases: list[tuple[int, int]]
    ages: list[tuple[str, float | None, int, int]]


# misspellings are read, except in the disguise readings (TextRule): per thread, as serving uses threads
FUZZY: ContextVar[bool] = ContextVar("legal_fuzzy", default=True)
# ages are read, except when a word joined across a space is checked alone ("летний"+"пёс")
AGES: ContextVar[bool] = ContextVar("legal_ages", default=True)
