"""The term rule: words and phrases that name a child ("boy", "toddler", "cub scout").

Terms, phrases, the exceptions in which a term is not about a person ("baby blue") and the
words that only look like a joined term ("girlfriend") come from ``terms.yaml``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from imagesearch.legal.rules import register_text_rule
from imagesearch.legal.phrases import PhraseIndex
from imagesearch.legal.tokens import Tokenizer, plural_forms


@register_text_rule
@dataclass(frozen=True)
class TermRule:
    """Fires on a listed term or phrase outside an exception phrase; evidence: the words."""

    tokenizer: Tokenizer
    terms: frozenset[str]
    phrases: tuple[tuple[str, ...], ...] = ()
    exceptions: tuple[tuple[str, ...], ...] = ()
    collisions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # term, languages where it is another word
    name = "term"
    precedence = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "TermRule":
        return cls(tokenizer, frozenset(validated_terms(config)),
                   phrases=tuple(tuple(p.lower().split()) for p in config.get("phrases") or []),
                   exceptions=tuple(tuple(p.lower().split()) for p in config.get("exceptions") or []),
                   collisions=tuple((str(k), tuple(v)) for k, v in (config.get("collisions") or {}).items()))

    def evidence(self, text: str) -> list[str]:
        tokens = self.tokenizer.tokens(text)
        forms = [plural_forms(t) for t in tokens]
        excluded: set[int] = set()
        for number, start in self._exception_index.matches(forms, tokens):
            excluded.update(range(start, start + len(self.exceptions[number])))
        words: list[str] = []
        for number, start in self._phrase_index.matches(forms, tokens):
            end = start + len(self.phrases[number])
            if not excluded & set(range(start, end)):
                words.append(" ".join(tokens[start:end]))
        for i, token_forms in enumerate(forms):
            if i not in excluded and token_forms & self.terms and not self._another_word(token_forms, text):
                words.append(tokens[i])
        return words

    @cached_property
    def _phrase_index(self) -> PhraseIndex:
        return _by_plural_forms(self.phrases)

    @cached_property
    def _exception_index(self) -> PhraseIndex:
        return _by_plural_forms(self.exceptions)

    def _another_word(self, token_forms: frozenset[str], text: str) -> bool:
        """True for a term that is another language's word in a text that reads as that language
        (French "son vélo contre le mur", Polish "baby z koła gospodyń")."""
        langs = next((langs for term, langs in self.collisions if term in token_forms), None)
        if not langs:
            return False
        from imagesearch.legal.folding import fold_text
        from imagesearch.legal.lexicon import load_lexicon

        return load_lexicon("en").reads_as(re.findall(r"[^\W\d_]+", fold_text(text, "en")), langs)


def _by_plural_forms(phrases: tuple[tuple[str, ...], ...]) -> PhraseIndex:
    """The phrases' index where each word matches a token by the word's plural forms."""
    return PhraseIndex([tuple(tuple(plural_forms(w)) for w in phrase) for phrase in phrases], prefixes=False)


def validated_terms(config: Mapping[str, Any]) -> list[str]:
    """The ``terms`` list of the term file; ValueError names what is wrong."""
    terms = config.get("terms") or []
    if not terms:
        raise ValueError("legal term list: 'terms' is empty")
    bad = [t for t in terms if not isinstance(t, str) or not re.fullmatch(r"[a-z]+", t)]
    if bad:
        raise ValueError(f"legal term list: terms must be single lower-case words: {bad}")
    return list(terms)
