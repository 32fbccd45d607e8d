"""The second-pass text rules: one per language list (``lexicons/<lang>.yaml``) and child emoji.

They run only on a text the English and Russian rules allow (``second_pass = True``, see
:class:`~imagesearch.legal.text_rule.TextRule`), so no English or Russian verdict they gave can
change; a word is judged by every list whose script it is written in ("Kind" by the German list
and by the Polish one alike), and a word that means something else in another language is
decided by the collision rules of its list. A list is read on the first text it could judge.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from imagesearch.legal import lexicon
from imagesearch.legal.folding import CYRILLIC_FOLD, LATIN_FOLD
from imagesearch.legal.lexicon import (LANGUAGES, MIN_ADULT_AGE, Analysis, analyse, lexicon_script, load_lexicon,
                                      script_languages)
from imagesearch.legal.normalise import normalise
from imagesearch.legal.rules import register_text_rule
from imagesearch.legal.tokens import Tokenizer


def comparable(text: str) -> str:
    """A word or span folded the way every list folds it, to compare evidence across lists."""
    return normalise(text).translate(LATIN_FOLD).translate(CYRILLIC_FOLD)


def is_term_word(word: str) -> bool:
    """True when some list knows ``word`` as it is written as a form of a term."""
    folded = comparable(word)
    return any(load_lexicon(lang).exact_lemma(folded) is not None for lang in LANGUAGES)


def is_number_word(word: str) -> bool:
    """True when some list reads ``word`` as a number ("trzynasto", "drei")."""
    folded = comparable(word)
    return any(folded in load_lexicon(lang).numbers for lang in LANGUAGES)


@lru_cache(maxsize=4096)
def judge(reading: str, script: str, fuzzy: bool = True, ages: bool = True) -> dict[str, tuple[str, ...]]:
    """Evidence per language for one normalised reading, every list of ``script`` agreeing.

    A term fires from its list unless a list that knows the same word vetoes it there ("bebe" in
    "ella bebe vino": the Spanish list's exception holds for the French list too); a word no list
    knows is read as a misspelling; an age fires unless another list reads the same span as an
    animal's or an adult's.
    """
    analyses = [analyse(lang, reading, fuzzy, ages) for lang in script_languages(script)]
    known: dict[int, list[Analysis]] = {}
    for analysis in analyses:
        for i in analysis.lemmas:
            known.setdefault(i, []).append(analysis)
    out: dict[str, tuple[str, ...]] = {}
    for analysis in analyses:
        lexicon = analysis.lexicon
        found = [" ".join(analysis.words[a:b]) for a, b in analysis.phrases
                 if not analysis.vetoed & set(range(a, b))]
        for i, word in enumerate(analysis.words):
            if i in analysis.lemmas:
                if (not any(_vetoes(other, i, analysis.lemmas[i]) for other in known[i]) and word not in lexicon.silent
                        and (lexicon.fires_only is None or word in lexicon.fires_only)):
                    found.append(word)
            elif (fuzzy and i not in known and all(i not in other.vetoed for other in analyses)
                  and lexicon.misspelt(word) is not None):
                found.append(word)
        for span, value, a, b in analysis.ages:
            if value is None or value >= MIN_ADULT_AGE:
                continue
            overlapping = [v for other in analyses if other is not analysis
                           for _, v, c, d in other.ages if c < b and a < d]
            if all(v is not None and v < MIN_ADULT_AGE for v in overlapping):
                found.append(span)
        if found:
            out[lexicon.lang] = tuple(dict.fromkeys(found))
    return out


def _vetoes(other: Analysis, i: int, lemma: str) -> bool:
    """Whether ``other`` vetoes word ``i`` that a list reads as ``lemma``. The Russian dictionary's
    veto ("a word Russian knows is that word": "сине" is "синий", not the Ukrainian "син") does not
    hold where Russian reads the same lemma ("хлопчики": "хлопчик" in both)."""
    if i not in other.vetoed:
        return False
    if other.lexicon.lang == "ru" and other.lemmas.get(i, "").startswith("~"):
        from imagesearch.legal.russian import lemmas

        return lemma not in lemmas(other.words[i])
    return True


_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_SCRIPTS = {"latin": _LATIN, "cyrillic": _CYRILLIC}


@dataclass(frozen=True)
class LexiconRule:
    """Fires on a term, phrase or age of one language list; evidence: the words."""

    lang: ClassVar[str]
    name: ClassVar[str]
    precedence: ClassVar[int]
    second_pass: ClassVar[bool] = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "LexiconRule":
        return cls()

    def evidence(self, text: str) -> list[str]:
        script = lexicon_script(self.lang)
        if not _SCRIPTS[script].search(text):
            return []
        return list(judge(text, script, lexicon.FUZZY.get(), lexicon.AGES.get()).get(self.lang, ()))


# "term_ru" is terms.yaml's Russian rule; the Russian list here adds misspellings and loans
_NAMES = {"ru": "term_ru_spelling"}
for _order, _lang in enumerate(LANGUAGES):
    register_text_rule(type(f"LexiconRule_{_lang}", (LexiconRule,),
                            {"lang": _lang, "name": _NAMES.get(_lang, f"term_{_lang}"), "precedence": 10 + _order,
                             "__doc__": f"The {_lang} list of lexicons/{_lang}.yaml."}))


# ---------------------------------------------------------------------------- emoji
# Child emoji: baby, boy, girl, child, baby angel, breast-feeding, family (its glyph shows a
# child), children crossing is a road sign and is not one. Skin tones follow the emoji and ZWJ
# sequences ("👨‍👩‍👧") keep their parts once the normaliser drops the joiner, so each part is seen.
CHILD_EMOJI = {"\U0001F476": "baby", "\U0001F466": "boy", "\U0001F467": "girl", "\U0001F9D2": "child",
               "\U0001F47C": "baby angel", "\U0001F931": "breast-feeding", "\U0001F46A": "family"}
FEEDING_BABY = re.compile("[\U0001F9D1\U0001F469\U0001F468][\U0001F3FB-\U0001F3FF]?\U0001F37C")  # 🧑‍🍼
# a child emoji as a figure of speech or beside a party for adults ("crying like a 👶", "👶🎀 baby shower")
FIGURATIVE = re.compile(
    r"(?:like an?|wie ein|comme une?|como una?|come una?|jak|как|як|сияқты|gibi|tam bir|baby ?shower|"
    r"бэби ?шауэр|бейби ?шауэр|бэйбі ?шаўэр|бебі ?шауер|baby-?party|cha de bebe|fralda)", re.IGNORECASE)


@register_text_rule
@dataclass(frozen=True)
class EmojiRule:
    """Fires on a child emoji (any skin tone, alone or in a ZWJ family); evidence: the emoji."""

    name = "emoji"
    precedence = 30
    second_pass = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "EmojiRule":
        return cls()

    def evidence(self, text: str) -> list[str]:
        found = [char for char in text if char in CHILD_EMOJI] + FEEDING_BABY.findall(text)
        if found and FIGURATIVE.search(text):
            return []
        return list(dict.fromkeys(found))
