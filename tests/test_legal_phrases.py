"""The phrase index finds exactly what trying every phrase at every word finds, in the same order."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagesearch.legal.lexicon import LANGUAGES, load_lexicon
from imagesearch.legal.phrases import PhraseIndex, fits


def every_start(phrases, readings, words):
    """The plain scan: every phrase tried at every word."""
    return [(number, start) for number, phrase in enumerate(phrases)
            for start in range(len(words) - len(phrase) + 1)
            if all(fits(phrase[k], readings[start + k], words[start + k]) for k in range(len(phrase)))]


WORDS = ["baby", "babies", "shower", "kid", "kids", "party", "little", "one", "ones", "the"]
PHRASES = ((("baby",), ("shower",)), (("kid*",),), (("little",), ("one", "ones")), (("the",),),
           (("baby", "babies"), ("*",)), (("little",), ("on*",), ("kid*",)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8), st.lists(st.sampled_from(WORDS), max_size=8))
def test_the_index_finds_what_the_plain_scan_finds(words, lemmas) -> None:
    readings = [frozenset({w, lemmas[i]}) if i < len(lemmas) else frozenset({w}) for i, w in enumerate(words)]
    assert PhraseIndex(PHRASES).matches(readings, words) == every_start(PHRASES, readings, words)


def test_a_bare_star_matches_nothing_and_a_phrase_needs_a_token() -> None:
    assert PhraseIndex(((("*",),),)).matches([frozenset({"a"})], ["a"]) == []
    with pytest.raises(ValueError):
        PhraseIndex(((),))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_listed_phrase_is_found_in_its_own_words(lang: str) -> None:
    """Each list's phrases and exceptions, written out with their first alternatives (a prefix
    completed with "x"), are found where the plain scan finds them."""
    lexicon = load_lexicon(lang)
    for phrases, index in ((lexicon.phrases, lexicon.phrase_index), (lexicon.exceptions, lexicon.exception_index)):
        for phrase in phrases:
            words = ["so"] + [alts[0][:-1] + "x" if alts[0].endswith("*") else alts[0] for alts in phrase] + ["so"]
            readings = [frozenset({w}) for w in words]
            found = index.matches(readings, words)
            assert found == every_start(phrases, readings, words)
            assert any(start == 1 for _, start in found), phrase
