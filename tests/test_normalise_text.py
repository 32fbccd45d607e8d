"""Spelling disguises are undone before any legal rule reads a text (imagesearch.legal.normalise)."""
from __future__ import annotations

import pytest

from imagesearch.legal.normalise import normalise, spelt_out, squeezed, variants


@pytest.mark.parametrize("disguised, plain", [
    ("ａ ｂｏｙ", "a boy"),                      # fullwidth (NFKC)
    ("𝐚 𝐠𝐢𝐫𝐥", "a girl"),                       # mathematical bold (NFKC)
    ("b\u200boy", "boy"),                        # zero-width space
    ("chil\u00addren", "children"),              # soft hyphen
    ("k\u200di\u2060d", "kid"),                  # zero-width joiner, word joiner
    ("\ufeffbaby", "baby"),                      # byte-order mark
    ("to\u0301ddler", "toddler"),                # a stray combining accent
    ("gіrl", "girl"),                            # Cyrillic і in a Latin word
    ("bоу", "boy"),                              # Cyrillic о and у in a Latin word
    ("мaльчик", "мальчик"),                      # Latin a in a Cyrillic word
    ("дeвочка", "девочка"),                      # Latin e in a Cyrillic word
    ("girI", "girl"),                            # capital I for an l
    ("kIds", "kids"),                            # capital I for an i
    ("b0y", "boy"),                              # zero for o
    ("g1rl", "girl"),                            # one for i
    ("ch1ld", "child"),                          # one for l
    ("t33n", "teen"),                            # threes for e
    ("BOY", "boy"),                              # case
    ("ма́льчик", "мальчик"),                     # a stress mark
    ("Niño", "nino"),                            # accents
    ("МАЛЫШ", "малыш"),
    ("bøy", "boy"),                              # a stroke NFKD keeps (ø, ł, đ)
    ("gırl", "girl"),                            # a dotless i
    ("CHŁOPIEC", "chlopiec"),
])
def test_a_disguise_reads_as_the_plain_word(disguised: str, plain: str) -> None:
    assert plain in variants(disguised)


@pytest.mark.parametrize("text", ["a 5yo girl", "12yrs old", "a 3rd grader", "mp3 player", "4x4 truck",
                                  "Ilya runs", "two dogs in the snow", "Собака бежит по пляжу"])
def test_plain_text_has_one_reading_and_keeps_its_numbers(text: str) -> None:
    assert variants(text) == (text.casefold(),)


def test_readings_are_few_and_the_plainest_comes_first() -> None:
    readings = variants("g1rl and bоу")
    assert 1 < len(readings) <= 4
    assert normalise("B0Y") == "boy"
    assert "girl and boy" in readings


def test_control_characters_separate_words() -> None:
    assert variants("a\x00boy") == ("a boy",)


def test_cyrillic_letters_with_marks_of_their_own_stay() -> None:
    assert variants("Малыш с ёлкой и мальчишкой") == ("малыш с ёлкой и мальчишкой",)


def test_letters_repeated_three_times_or_more_are_cut_to_one_and_to_two() -> None:
    assert squeezed("kiiiids and a todddler") == ["kids and a todler", "kiids and a toddler"]
    assert squeezed("a little kid, shh") == []


def test_spelt_out_words_are_cut_only_at_a_one_letter_word() -> None:
    assert "a kids" in spelt_out("a k i d s")
    assert "girls night out" in spelt_out("g i r l s night out")
    assert "girl s night out" not in spelt_out("g i r l s night out")
