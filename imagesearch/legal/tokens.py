"""English word tokens for the text rules: whole words, possessives dropped, plurals and hyphens.

An explicit plural normaliser instead of a stemmer: stemmers map "kidding" to "kid". Whether a
hyphenated word is read joined ("pre-teen" -> preteen) or split ("baby-sitter" -> baby, sitter)
depends on the term list's vocabulary, so a :class:`Tokenizer` is built from it.
"""
from __future__ import annotations

import re
from functools import lru_cache

# Words, numbers (with decimals and glued suffixes: "5yo", "3rd", "12yrs"), hyphenated and
# apostrophised words kept whole so that they can be joined or split deliberately below.
TOKEN_PATTERN = r"\d+(?:\.\d+)?[a-z]*|[a-z]+(?:['\-][a-z0-9]+)*'?"
# What NLTK's RegexpTokenizer(TOKEN_PATTERN).tokenize does (re.findall with these flags), without
# importing NLTK: its package __init__ pulls in scipy.stats and cost every search 1.4-1.8 s.
# tests/test_legal_rules.py checks both give the same tokens on every labelled text.
_find_tokens = re.compile(TOKEN_PATTERN, re.UNICODE | re.MULTILINE | re.DOTALL).findall
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u2013": "-", "\u2014": "-",
                              "\u2010": "-", "\u2011": "-"})
ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_NUMBER_GLUED = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")


@lru_cache(maxsize=65536)
def plural_forms(token: str) -> frozenset[str]:
    """The token and its singular candidates: kids -> kid, babies -> baby, boxes -> box."""
    forms = {token}
    if len(token) > 3 and token.endswith("ies"):
        forms.add(token[:-3] + "y")
    if len(token) > 2 and token.endswith("es") and token[:-2].endswith(("s", "x", "z", "ch", "sh")):
        forms.add(token[:-2])
    if len(token) > 1 and token.endswith("s") and not token.endswith("ss"):
        forms.add(token[:-1])
    return frozenset(forms)


class Tokenizer:
    """Lower-cased word tokens; a hyphenated word is joined when the joined form is in ``joinable``."""

    def __init__(self, joinable: frozenset[str]) -> None:
        self.joinable = joinable

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for raw in _find_tokens(text.lower().translate(_APOSTROPHES)):
            token = _strip_possessive(raw)
            if not token:
                continue
            if "-" in token:
                joined = token.replace("-", "")
                if plural_forms(joined) & self.joinable:
                    out.append(joined)
                    continue
                out.extend(_split_glued(part) for part in token.split("-") if part)
                continue
            out.append(_split_glued(token))
        # _split_glued may return "5 yo": flatten
        return [piece for item in out for piece in item.split(" ")]


def _strip_possessive(token: str) -> str:
    if token.endswith("'s"):
        return token[:-2]
    return token.rstrip("'")


def _split_glued(token: str) -> str:
    """"5yo" -> "5 yo", "12yrs" -> "12 yrs"; ordinals ("3rd") and plain tokens unchanged."""
    if ORDINAL_DIGITS.match(token):
        return token
    glued = _NUMBER_GLUED.match(token)
    if glued:
        return f"{glued.group(1)} {glued.group(2)}"
    return token
