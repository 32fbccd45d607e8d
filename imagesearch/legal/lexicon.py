"""Child terms in the languages beside English and Russian: one reviewed list per language.

``lexicons/<lang>.yaml`` holds a language's terms (lemmas), the forms a library lacks, phrases,
exceptions (phrases in which a term is not about a child: "azul bebé", "il mio ragazzo"),
collisions with other languages ("kind" in English), ages under 16 as regular expressions, and
the decision beside every debatable word. ``lexicons/forms.json`` (written by
:mod:`imagesearch.legal.lexicon_forms` from simplemma and pymorphy3) maps every inflected form of a
term to its lemma, so no dictionary is loaded while searching. A lexicon is read on first use.

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
from functools import lru_cache
from pathlib import Path
from typing import Any

from imagesearch.legal.folding import KAZAKH_FOLD, fold_text, fold_word
from imagesearch.legal.spelling import deletions, one_edit_apart
from imagesearch.legal.yaml_files import load_yaml

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
def _generated() -> dict[str, Any]:
    return json.loads(FORMS_PATH.read_text(encoding="utf-8")) if FORMS_PATH.is_file() else {}


def russian_forms() -> Mapping[str, str]:  # every form of the Russian terms (pymorphy3 lexemes) -> lemma
    return _generated().get("forms", {}).get("ru", {})


@lru_cache(maxsize=None)
def near_words(script: str) -> frozenset[str]:  # dictionary words one edit from a term form
    return frozenset(_generated().get("near_words", {}).get(script, []))


@lru_cache(maxsize=None)
def script_languages(script: str) -> tuple[str, ...]:
    return tuple(lang for lang in LANGUAGES if load_lexicon(lang).script == script)


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

    def _phrase_starts(self, phrase: tuple[tuple[str, ...], ...], readings: list[frozenset[str]],
                       words: list[str]) -> list[int]:
        def fits(alternatives: tuple[str, ...], k: int) -> bool:
            return any(a[:-1] and words[k].startswith(a[:-1]) if a.endswith("*") else a in readings[k]
                       for a in alternatives)

        return [s for s in range(len(words) - len(phrase) + 1)
                if all(fits(alts, s + k) for k, alts in enumerate(phrase))]

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
        excluded = {i for phrase in self.exceptions for s in self._phrase_starts(phrase, readings, words)
                    for i in range(s, s + len(phrase))}
        phrases = [(s, s + len(phrase)) for phrase in self.phrases
                   for s in self._phrase_starts(phrase, readings, words)]
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


def _compile_numbers(numbers: Mapping[str, float], lang: str, digits: bool = True) -> str:
    """{n}: digits or a number word; {p}: a number prefix of a compound ("ottenne", "pięcioletni")."""
    words = sorted((fold_word(w, lang) for w in numbers), key=len, reverse=True)
    return "(?P<n>" + "|".join(([r"\d+(?:[.,]\d+)?"] if digits else []) + [re.escape(w) for w in words if w]) + ")"


def _stems(config: Mapping[str, Any], lang: str) -> re.Pattern[str] | None:
    stems = config.get("stems") or {}
    if not stems:
        return None
    suffixes = {name: sorted({fold_word(s, lang) for s in (values or [])} - {""}, key=len, reverse=True)
                for name, values in (config.get("suffixes") or {}).items()}
    kazakh = bool(config.get("kazakh_fold"))
    if kazakh:  # typed without Kazakh letters: "кыз" for "қыз"; two-letter stems ("ұл") only as written
        suffixes = {name: sorted(set(ends) | {e.translate(KAZAKH_FOLD) for e in ends}, key=len, reverse=True)
                    for name, ends in suffixes.items()}
    groups = []
    for i, (stem, kind) in enumerate(stems.items()):
        least = 1 if kind.endswith("+") else 0
        ends = "|".join(re.escape(s) for s in suffixes[kind.rstrip("+")]) or "(?!)"
        stem = fold_word(stem, lang)
        written = [stem] + ([stem.translate(KAZAKH_FOLD)] if kazakh and len(stem) >= 3 else [])
        alternatives = "|".join(re.escape(w) for w in dict.fromkeys(written))
        groups.append(f"(?P<s{i}>{alternatives})(?:{ends}){{{least},3}}")
    return re.compile("|".join(groups))


@lru_cache(maxsize=16384)
def analyse(lang: str, reading: str, fuzzy: bool, ages: bool) -> Analysis:
    """:meth:`Lexicon.analyse`, remembered (the context flags are part of the key)."""
    return load_lexicon(lang).analyse(reading)


@lru_cache(maxsize=None)
def load_lexicon(lang: str) -> Lexicon:
    config = load_yaml(LEXICON_DIR / f"{lang}.yaml")
    generated = _generated().get("forms", {}).get(lang, {})
    terms: dict[str, str] = dict(generated)
    phrases = [str(p) for p in config.get("phrases") or []]
    for term in config.get("terms") or []:
        folded = fold_word(str(term), lang)
        if " " in folded or "-" in folded:
            phrases.append(folded.replace("-", " "))
        else:
            terms[folded] = folded
            if config.get("kazakh_fold") and len(folded.translate(KAZAKH_FOLD)) >= 4:
                terms.setdefault(folded.translate(KAZAKH_FOLD), folded)
    for form in config.get("forms") or []:
        folded = fold_word(str(form), lang)
        if " " in folded or "-" in folded:
            phrases.append(folded.replace("-", " "))
        else:
            terms.setdefault(folded, folded)
    numbers = {fold_word(str(k), lang): float(v) for k, v in (config.get("numbers") or {}).items()}
    prefixes = {fold_word(str(k), lang): float(v) for k, v in (config.get("prefixes") or {}).items()}
    ordinals = {fold_word(str(k), lang): float(v) for k, v in (config.get("ordinals") or {}).items()}
    age = config.get("age") or {}
    patterns = []
    for pattern, unit in age.get("patterns") or []:
        body = (pattern.replace("{n}", _compile_numbers(numbers, lang))
                .replace("{p}", _compile_numbers(prefixes, lang, False))
                .replace("{o}", _compile_numbers(ordinals, lang, False)))
        patterns.append((re.compile(r"(?<![^\W_])" + body), unit))
    lexicon = Lexicon(
        lang=lang, script=config["script"], terms=terms, stems=_stems(config, lang),
        heads=tuple(fold_word(h, lang) for h in config.get("heads") or []),
        head_exceptions=frozenset(fold_word(h, lang) for h in config.get("head_exceptions") or []),
        modifiers=tuple(fold_word(m, lang) for m in config.get("modifiers") or []),
        modifier_heads=frozenset(fold_word(h, lang) for h in config.get("modifier_heads") or []),
        phrases=tuple(_phrase(p, lang, bool(config.get("kazakh_fold"))) for p in phrases),
        exceptions=tuple(_phrase(str(p), lang, bool(config.get("kazakh_fold"))) for p in _exceptions(config)),
        collisions={fold_word(k, lang): tuple(v or ()) for k, v in (config.get("collisions") or {}).items()},
        markers=frozenset(fold_word(str(m), lang) for m in config.get("markers") or []),
        age_patterns=tuple(patterns), numbers={**prefixes, **ordinals, **numbers}, max_grade=int(age.get("max_grade", 9)),
        non_persons=frozenset(fold_word(str(w), lang) for w in age.get("non_persons") or []),
        adult_age_before=int(age.get("adult_age_before", 3)),
        proper_noun_apostrophe=config.get("apostrophe") == "proper_noun",
        kazakh_fold=bool(config.get("kazakh_fold")), plural_match=bool(config.get("plural_match")))
    anchors = dict(terms)
    if config.get("fire_on_terms", True) is False:
        # the reviewed rule fires on these terms; here they anchor misspellings, and only the
        # slang forms fire as they are
        anchors.update({fold_word(str(p), lang): fold_word(str(p), lang) for p in config.get("plurals") or []})
        lexicon.terms = {fold_word(str(f), lang): fold_word(str(f), lang) for f in config.get("forms") or []
                         if " " not in str(f)}
    fuzzy: dict[str, list[str]] = {}
    for form in sorted(anchors):
        if len(form) >= MIN_FUZZY and form.isalpha():
            for key in {form, *deletions(form)}:
                fuzzy.setdefault(key, []).append(form)
    lexicon.fuzzy = {key: tuple(forms) for key, forms in fuzzy.items()}
    lexicon.anchors = anchors
    lexicon.real_words = frozenset(fold_word(str(w), lang) for w in config.get("real_words") or [])
    lexicon.not_blocked = frozenset(fold_word(str(w), lang) for w in config.get("not_blocked") or [])
    lexicon.not_forms = frozenset(fold_word(str(w), lang) for w in config.get("not_forms") or [])
    lexicon.context_vetoes = {fold_word(str(k), lang): tuple(fold_word(str(w), lang) for w in v)
                              for k, v in (config.get("context_vetoes") or {}).items()}
    if lang == "ru":
        russian = load_yaml(Path(__file__).with_name("terms.yaml"))["russian"]
        lexicon.russian_terms = frozenset(str(t).replace("ё", "е") for t in russian["terms"])
    if config.get("fire_on_terms", True) is False:
        lexicon.silent = frozenset(anchors) - frozenset(lexicon.terms)
        lexicon.fires_only = frozenset(lexicon.terms)
        lexicon.terms = {**anchors, **lexicon.terms}
    return lexicon


def _exceptions(config: Mapping[str, Any]) -> list[str]:
    listed = [str(p) for p in config.get("exceptions") or []]
    if config.get("exceptions_from_terms"):
        terms = load_yaml(Path(__file__).with_name("terms.yaml"))
        listed += [str(p) for p in terms.get("exceptions") or []]
    return listed


def _phrase(text: str, lang: str, kazakh: bool = False) -> tuple[tuple[str, ...], ...]:
    def folded(a: str) -> list[str]:
        word = fold_word(a, lang) if not a.endswith("*") else fold_word(a[:-1], lang) + "*"
        return [word, word.translate(KAZAKH_FOLD)] if kazakh else [word]

    return tuple(tuple(dict.fromkeys(f for a in token.split("|") for f in folded(a))) for token in text.split())


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
