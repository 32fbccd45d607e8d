"""Where a language list's phrases occur in a text: each phrase looked up by its first word.

A phrase is a tuple of tokens, each token a tuple of alternatives: a word form that must be among
the token's readings (the word and its lemma), or a prefix ending in ``*`` that the word itself
must start with. Trying every phrase at every word costs phrases x words per text and list; the
index only tries the phrases whose first token fits the word, and finds the same matches in the
same order.
"""
from __future__ import annotations

from collections.abc import Sequence

Phrase = tuple[tuple[str, ...], ...]


def fits(alternatives: tuple[str, ...], readings: frozenset[str], word: str, prefixes: bool = True) -> bool:
    """One token of a phrase against one word of the text (``readings``: the word and its lemma);
    with ``prefixes`` False a trailing ``*`` is a character like any other."""
    return any(a[:-1] and word.startswith(a[:-1]) if prefixes and a.endswith("*") else a in readings
               for a in alternatives)


class PhraseIndex:
    """The phrases of one list, keyed by what their first token accepts."""

    def __init__(self, phrases: Sequence[Phrase], prefixes: bool = True) -> None:
        if any(not phrase for phrase in phrases):
            raise ValueError("a phrase needs at least one token")
        self.phrases = tuple(phrases)
        self.use_prefixes = prefixes
        self.exact: dict[str, list[int]] = {}
        self.prefixes: list[tuple[str, int]] = []
        for number, phrase in enumerate(self.phrases):
            for alternative in phrase[0]:
                if not (prefixes and alternative.endswith("*")):
                    self.exact.setdefault(alternative, []).append(number)
                elif alternative[:-1]:
                    self.prefixes.append((alternative[:-1], number))

    def matches(self, readings: Sequence[frozenset[str]], words: Sequence[str]) -> list[tuple[int, int]]:
        """(phrase number, start word) of every occurrence, by phrase number, then start."""
        starts: dict[int, set[int]] = {}
        for start, word in enumerate(words):
            for reading in readings[start]:
                for number in self.exact.get(reading, ()):
                    starts.setdefault(number, set()).add(start)
            for prefix, number in self.prefixes:
                if word.startswith(prefix):
                    starts.setdefault(number, set()).add(start)
        found = []
        for number in sorted(starts):
            phrase = self.phrases[number]
            for start in sorted(starts[number]):
                if start + len(phrase) <= len(words) and all(
                        fits(phrase[k], readings[start + k], words[start + k], self.use_prefixes) for k in range(1, len(phrase))):
                    found.append((number, start))
        return found
