"""A language's list built from its sources: ``lexicons/<lang>.yaml``, the forms the libraries
gave (``lexicons/forms.json``) and, for some lists, the term list (``terms.yaml``).

Every word is folded (:func:`~imagesearch.legal.folding.fold_word`) and the stems and ages are
compiled into regular expressions. Searching reads the same lists from ``lexicons/compiled.json``
(:mod:`imagesearch.legal.lexicon_compiled`), written from this module's output; this is what
writes it, and what reads the lists when that file does not match its sources.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagesearch.legal.folding import KAZAKH_FOLD, fold_word
from imagesearch.legal.lexicon import LEXICON_DIR, Lexicon, fuzzy_index, generated_forms
from imagesearch.legal.yaml_files import load_yaml

TERMS_PATH = Path(__file__).with_name("terms.yaml")


def build_lexicon(lang: str) -> Lexicon:
    """``lexicons/<lang>.yaml`` with its generated forms, folded and compiled for matching."""
    config = load_yaml(LEXICON_DIR / f"{lang}.yaml")
    generated = generated_forms().get("forms", {}).get(lang, {})
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
    lexicon.fuzzy = fuzzy_index(anchors)
    lexicon.anchors = anchors
    lexicon.real_words = frozenset(fold_word(str(w), lang) for w in config.get("real_words") or [])
    lexicon.not_blocked = frozenset(fold_word(str(w), lang) for w in config.get("not_blocked") or [])
    lexicon.not_forms = frozenset(fold_word(str(w), lang) for w in config.get("not_forms") or [])
    lexicon.context_vetoes = {fold_word(str(k), lang): tuple(fold_word(str(w), lang) for w in v)
                              for k, v in (config.get("context_vetoes") or {}).items()}
    if lang == "ru":
        russian = load_yaml(TERMS_PATH)["russian"]
        lexicon.russian_terms = frozenset(str(t).replace("ё", "е") for t in russian["terms"])
    if config.get("fire_on_terms", True) is False:
        lexicon.silent = frozenset(anchors) - frozenset(lexicon.terms)
        lexicon.fires_only = frozenset(lexicon.terms)
        lexicon.terms = {**anchors, **lexicon.terms}
    return lexicon


def _exceptions(config: Mapping[str, Any]) -> list[str]:
    listed = [str(p) for p in config.get("exceptions") or []]
    if config.get("exceptions_from_terms"):
        terms = load_yaml(TERMS_PATH)
        listed += [str(p) for p in terms.get("exceptions") or []]
    return listed


def _phrase(text: str, lang: str, kazakh: bool = False) -> tuple[tuple[str, ...], ...]:
    def folded(a: str) -> list[str]:
        word = fold_word(a, lang) if not a.endswith("*") else fold_word(a[:-1], lang) + "*"
        return [word, word.translate(KAZAKH_FOLD)] if kazakh else [word]

    return tuple(tuple(dict.fromkeys(f for a in token.split("|") for f in folded(a))) for token in text.split())


def _compile_numbers(numbers: Mapping[str, float], lang: str, digits: bool = True) -> str:
    """{n}: digits or a number word; {p}: a number prefix of a compound ("ottenne", "pięcioletni")."""
    words = sorted((fold_word(w, lang) for w in numbers), key=len, reverse=True)
    return "(?P<n>" + "|".join(([r"\d+(?:[.,]\d+)?"] if digits else []) + [re.escape(w) for w in words if w]) + ")"


def _stems(config: Mapping[str, Any], lang: str) -> re.Pattern[str] | None:
    stems = config.get("stems") or {}
    if not stems:
        return None
    suffixes = {name: _longest_first({fold_word(s, lang) for s in (values or [])} - {""})
                for name, values in (config.get("suffixes") or {}).items()}
    kazakh = bool(config.get("kazakh_fold"))
    if kazakh:  # typed without Kazakh letters: "кыз" for "қыз"; two-letter stems ("ұл") only as written
        suffixes = {name: _longest_first(set(ends) | {e.translate(KAZAKH_FOLD) for e in ends})
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


def _longest_first(words: set[str]) -> list[str]:
    """Longest first, then alphabetical: the same pattern source in every process (a set's order is not)."""
    return sorted(words, key=lambda word: (-len(word), word))
