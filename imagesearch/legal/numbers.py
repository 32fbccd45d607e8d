"""Numbers in English text, for the age rule: "7", "seven", "twenty one", "two and a half", "3rd"."""
from __future__ import annotations

import re

from imagesearch.legal.tokens import ORDINAL_DIGITS

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
ORDINAL_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
                 "seventh": 7, "eighth": 8, "ninth": 9}
ORDINAL_TEENS = {"tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
                 "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
                 "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40,
                 "fiftieth": 50}


def cardinal(tokens: list[str], j: int) -> tuple[float, int] | None:
    """The number that ends at ``tokens[j]`` as (value, start index), or None."""
    if j < 0:
        return None
    token = tokens[j]
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token), j
    if token in UNITS:
        if j > 0 and tokens[j - 1] in TENS:
            return float(TENS[tokens[j - 1]] + UNITS[token]), j - 1
        return float(UNITS[token]), j
    if token in TEENS:
        return float(TEENS[token]), j
    if token in TENS:
        return float(TENS[token]), j
    return None


def number_before(tokens: list[str], i: int) -> tuple[float, int] | None:
    """The number right before ``tokens[i]``: "7", "seven", "twenty one", "two and a half", "a"."""
    j = i - 1
    if j < 0:
        return None
    if tokens[j] == "half":
        if j >= 3 and tokens[j - 2:j] == ["and", "a"]:
            base = cardinal(tokens, j - 3)
            if base is not None:
                return base[0] + 0.5, base[1]
        return 0.5, j - 1 if j > 0 and tokens[j - 1] in ("a", "one") else j
    if tokens[j] in ("a", "an"):
        return 1.0, j
    return cardinal(tokens, j)


def number_after(tokens: list[str], j: int) -> tuple[float, int] | None:
    """The number starting at ``tokens[j]`` as (value, index after it), or None."""
    if j >= len(tokens):
        return None
    token = tokens[j]
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token), j + 1
    if token in TENS:
        if j + 1 < len(tokens) and tokens[j + 1] in UNITS:
            return float(TENS[token] + UNITS[tokens[j + 1]]), j + 2
        return float(TENS[token]), j + 1
    if token in UNITS:
        return float(UNITS[token]), j + 1
    if token in TEENS:
        return float(TEENS[token]), j + 1
    return None


def ordinal_before(tokens: list[str], i: int) -> tuple[float, int] | None:
    """The ordinal right before ``tokens[i]``: "3rd", "third", "twenty first"."""
    j = i - 1
    if j < 0:
        return None
    token = tokens[j]
    digits = ORDINAL_DIGITS.match(token)
    if digits:
        return float(digits.group(1)), j
    if token in ORDINAL_UNITS:
        if j > 0 and tokens[j - 1] in TENS:
            return float(TENS[tokens[j - 1]] + ORDINAL_UNITS[token]), j - 1
        return float(ORDINAL_UNITS[token]), j
    if token in ORDINAL_TEENS:
        return float(ORDINAL_TEENS[token]), j
    return None
