"""Write ``lexicons/forms.json``: every inflected form of the listed terms, from offline libraries.

Run after changing a term list: ``python -m imagesearch.legal.lexicon_forms`` (it rewrites
``lexicons/compiled.json`` after, see :mod:`imagesearch.legal.lexicon_compiled`). Searching never
imports this module: loading simplemma's dictionaries takes about a second per language, so the
forms are looked up once here and read as one small JSON file (tests/test_legal_lexicons.py checks
the file is what this script writes).

- German, French, Spanish, Italian, Portuguese, Polish, Turkish, Ukrainian, English: simplemma's
  dictionary (form -> lemma) read backwards: every form whose lemma is a listed term;
- Ukrainian also: pymorphy3's Ukrainian dictionary (pymorphy3-dicts-uk), every form of the lexeme;
- Russian (for Russian typed in Latin letters and Russian misspellings): pymorphy3's Russian lexemes
  of the ``russian.terms`` of terms.yaml;
- ``near_words``: dictionary words one edit away from a term form of five letters or more ("chill"
  from "child"): a real word is never read as a misspelling.
"""
from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path


from imagesearch.legal.folding import fold_word
from imagesearch.legal.lexicon import FORMS_PATH, LANGUAGES, LEXICON_DIR, MIN_FUZZY
from imagesearch.legal.text_rule import TERMS_PATH
from imagesearch.legal.yaml_files import load_yaml

SIMPLEMMA_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "pl", "tr", "uk")
NEAR_WORD_DICTIONARIES = {"latin": ("en", "de", "fr", "es", "it", "pt", "pl", "tr"), "cyrillic": ("ru", "uk")}


@lru_cache(maxsize=None)
def _dictionary(lang: str) -> tuple[tuple[str, str], ...]:
    """simplemma's dictionary: (folded form, lemma as written, case folded) pairs."""
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    return tuple((_fast_fold(str(form), lang), str(lemma).casefold())
                 for form, lemma in DefaultDictionaryFactory().get_dictionary(lang).items())


def _fast_fold(word: str, lang: str) -> str:
    """:func:`fold_word` for a plain dictionary word, without the disguise steps (much faster)."""
    if lang in ("ru", "uk", "be", "kk"):
        word = unicodedata.normalize("NFC", unicodedata.normalize("NFD", word).replace("\u0301", ""))
    else:
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if unicodedata.category(c) != "Mn")
    from imagesearch.legal.folding import fold_text

    return fold_text(word.casefold(), lang)


def _lexicon(lang: str) -> dict:
    return load_yaml(LEXICON_DIR / f"{lang}.yaml")


def library_forms(lang: str, terms: Iterable[str]) -> dict[str, str]:
    """Folded form -> folded lemma for every form the libraries know of ``terms``.

    The lemma must be the term as written, accents included: "maleć" (to shrink) is not "malec"
    (a little boy) though both fold to "malec"."""
    wanted = {fold_word(t, lang): t for t in terms if " " not in t}
    written = {t.casefold(): folded for folded, t in wanted.items()}
    forms: dict[str, str] = {}
    if lang in SIMPLEMMA_LANGUAGES:
        for form, lemma in _dictionary(lang):
            if lemma in written and " " not in form:
                forms.setdefault(form, written[lemma])
    if lang in ("uk", "ru"):
        import pymorphy3

        morph = pymorphy3.MorphAnalyzer(lang=lang)
        for folded, term in wanted.items():
            for parse in morph.parse(term):
                if fold_word(parse.normal_form, lang) != folded:
                    continue
                for form in parse.lexeme:
                    forms.setdefault(fold_word(form.word, lang), folded)
    return dict(sorted(forms.items()))


def one_edit(word: str, alphabet: str) -> set[str]:
    """Every string one deletion, insertion, substitution or swap of neighbours from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in alphabet}
    out |= {a + c + b for a, b in splits for c in alphabet}
    return out - {word}


ALPHABETS = {"latin": "abcdefghijklmnopqrstuvwxyzı",
             "cyrillic": "абвгдежзийклмнопрстуфхцчшщъыьэюяіїєўәғқңөұүһ"}


def near_words(script: str, term_forms: set[str]) -> list[str]:
    """Dictionary words (folded) one edit from a term form of MIN_FUZZY letters or more."""
    candidates = {w for form in term_forms if len(form) >= MIN_FUZZY
                  for w in one_edit(form, ALPHABETS[script])} - term_forms
    known = {form for lang in NEAR_WORD_DICTIONARIES[script] for form, _ in _dictionary(lang)}
    return sorted(candidates & known)


def build() -> dict:
    forms = {}
    for lang in LANGUAGES:
        lexicon = _lexicon(lang)
        if lexicon.get("library") in ("simplemma", "pymorphy3-uk"):
            forms[lang] = library_forms(lang, lexicon["terms"])
    russian = load_yaml(TERMS_PATH)["russian"]["terms"]
    forms["ru"] = library_forms("ru", russian)
    near: dict[str, list[str]] = {}
    for script in NEAR_WORD_DICTIONARIES:
        term_forms: set[str] = set()
        for lang in list(LANGUAGES) + ["ru"]:
            if lang != "ru" and _lexicon(lang)["script"] != script:
                continue
            if lang == "ru" and script != "cyrillic":
                continue
            term_forms |= set(forms.get(lang, {}))
            if lang != "ru":
                lexicon = _lexicon(lang)
                term_forms |= {fold_word(w, lang) for w in (lexicon["terms"] + (lexicon.get("forms") or []))}
        near[script] = near_words(script, term_forms)
    import simplemma

    return {"generated_by": "python -m imagesearch.legal.lexicon_forms",
            "libraries": {"simplemma": simplemma.__version__, "pymorphy3-dicts-uk": _version("pymorphy3-dicts-uk"),
                          "pymorphy3-dicts-ru": _version("pymorphy3-dicts-ru")},
            "forms": forms, "near_words": near}


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def write(path: Path = FORMS_PATH) -> None:
    path.write_text(json.dumps(build(), ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    from imagesearch.legal import lexicon_compiled

    write()
    lexicon_compiled.write()  # the compiled lists hold these forms
