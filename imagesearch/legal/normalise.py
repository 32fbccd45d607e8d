"""Text normalisation before any legal rule sees a text: no way around the rule by spelling.

Steps, in order (each closes one disguise; tests/test_normalise_text.py has one case per step
and a property test over disguised child texts):

1. Unicode NFKC: fullwidth, mathematical and ligature letters become plain ones ("ａ ｂｏｙ").
2. Invisible and format characters are removed (zero-width space and joiners, soft hyphen, BOM,
   bidi marks: category Cf), and so are accents (combining marks, Mn) except the two that make
   Cyrillic letters of their own (й, ё): "tóddler" reads "toddler", "ма́льчик" "мальчик", and a
   term list entry "niño" matches "nino" (terms are normalised the same way); other control
   characters become spaces.
3. A capital I inside an otherwise lower-case word is an l or an i in disguise ("girI"): read
   before case folding, which would lose it.
4. Case folding, and the Latin letters with a stroke or without a dot that NFKD keeps whole
   read plainly ("bøy", "gırl", "chłopiec" -> "boy", "girl", "chlopiec"), as a keyboard without
   them would type them.
5. Mixed-script words (Latin and Cyrillic or Greek letters in one word) are mapped letter by
   letter into one script through Unicode's confusables table (``confusable_homoglyphs``):
   "gіrl" with a Cyrillic і becomes "girl", "мaльчик" with a Latin a becomes "мальчик".
6. Digits between letters are read as the letters they imitate ("b0y", "g1rl", "t33n").

Where a disguise is ambiguous (I and 1 stand for both l and i; a mixed-script word such as "bоу"
may be Latin or Cyrillic underneath) :func:`variants` returns every reading, at most four; a text
rule blocks a text when any reading is blocked.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
# digits and signs that imitate letters inside a word; "1" is ambiguous (l or i), as is "I"
LOOKALIKE_DIGITS = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
AMBIGUOUS = "\ue000"  # a private-use placeholder for "l or i", resolved in variants()
STROKED = str.maketrans({"ø": "o", "ı": "i", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ɨ": "i"})


def variants(text: str) -> tuple[str, ...]:
    """The normalised readings of ``text``, the plainest first; duplicates removed."""
    pieces = _words_and_gaps(_fold(text))
    scripts = [_scripts(piece) for piece in pieces]
    mixed = any(len(found) > 1 for found in scripts)
    # a Latin word among Cyrillic ones may be look-alikes too ("Мама c коляской": a Latin c)
    latin_among_cyrillic = {"CYRILLIC"} in scripts and {"LATIN"} in scripts
    readings: list[str] = []
    for target in (("LATIN", "CYRILLIC") if mixed or latin_among_cyrillic else ("LATIN",)):
        joined = "".join(_into_script(piece, target) if len(found) > 1 or (
            target == "CYRILLIC" and latin_among_cyrillic and found == {"LATIN"}) else piece
            for piece, found in zip(pieces, scripts))
        # "i" first: the lower-case spelling of a capital-I disguise ("kIds" -> "kids") reads i
        readings += [joined.replace(AMBIGUOUS, "i"), joined.replace(AMBIGUOUS, "l")]
    return tuple(dict.fromkeys(readings))


def normalise(text: str) -> str:
    """The first reading of :func:`variants`: for logs and display."""
    return variants(text)[0]


def _fold(text: str) -> str:
    """Steps 1-4 and 6: NFKC, invisible characters, capital I, case folding and stroked letters,
    digits as letters."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    text = unicodedata.normalize("NFC", "".join(_visible(char, prev) for prev, char in zip(" " + text, text)))
    text = " ".join(_mark_capital_i(word) for word in text.split(" "))
    return "".join(_letters_for_digits(piece) if any(c.isalpha() for c in piece) else piece
                   for piece in _words_and_gaps(text.casefold().translate(STROKED)))


CYRILLIC_MARKS = ("\u0306", "\u0308")  # breve (й) and diaeresis (ё): letters, not accents


def _visible(char: str, prev: str) -> str:
    category = unicodedata.category(char)
    if category == "Mn" and char in CYRILLIC_MARKS and _script(prev) == "CYRILLIC":
        return char
    if category in ("Cf", "Mn"):
        return ""
    if category == "Cc" and char not in "\t\n\r":
        return " "
    return char


def _mark_capital_i(word: str) -> str:
    """'girI' -> 'gir' + AMBIGUOUS: an I after a lower-case letter in a word with no other capital."""
    if "I" not in word[1:] or sum(c.isupper() for c in word) != word[1:].count("I") + word[:1].isupper():
        return word
    out = [word[0]]
    for prev, char in zip(word, word[1:]):
        out.append(AMBIGUOUS if char == "I" and prev.islower() else char)
    return "".join(out)


def _words_and_gaps(text: str) -> list[str]:
    """Split into maximal runs of word characters (letters, digits, lookalike signs) and the rest."""
    pieces: list[str] = []
    current, in_word = "", False
    for char in text:
        is_word = char.isalnum() or char in LOOKALIKE_DIGITS or char == AMBIGUOUS
        if current and is_word != in_word:
            pieces.append(current)
            current = ""
        current += char
        in_word = is_word
    if current:
        pieces.append(current)
    return pieces


def _scripts(word: str) -> set[str]:
    return {s for s in map(_script, word) if s in SCRIPTS}


def _letters_for_digits(word: str) -> str:
    """Digits with a letter on each side of their run are letters in disguise: 'b0y', 'g1rl'.

    A number glued to a word at its start or end ("5yo", "12yrs", "3rd", "mp3") stays a number.
    """
    chars = list(word)
    n = len(chars)
    i = 0
    while i < n:
        if chars[i].isalpha() or chars[i] == AMBIGUOUS:
            i += 1
            continue
        j = i
        while j < n and not (chars[j].isalpha() or chars[j] == AMBIGUOUS):
            j += 1
        run = chars[i:j]
        inside = i > 0 and j < n
        if inside and all(c in LOOKALIKE_DIGITS or c == "1" for c in run):
            chars[i:j] = [AMBIGUOUS if c == "1" else LOOKALIKE_DIGITS[c] for c in run]
        i = j
    return "".join(chars)


@lru_cache(maxsize=8192)  # per character; loading the lexicons asks ~80,000 times for a few hundred
def _script(char: str) -> str:
    if char == AMBIGUOUS:
        return "LATIN"
    if not char.isalpha():
        return "COMMON"
    name = unicodedata.name(char, "")
    return next((s for s in SCRIPTS if name.startswith(s)), "OTHER")


def _into_script(word: str, target: str) -> str:
    """Each letter of another script replaced by its ``target`` look-alike, where it has one."""
    return "".join(c if _script(c) in (target, "COMMON") else (_homoglyph(c, target) or c) for c in word)


@lru_cache(maxsize=4096)
def _homoglyph(char: str, target: str) -> str | None:
    """A lower-case letter of ``target`` script that Unicode lists as confusable with ``char``."""
    if char == AMBIGUOUS:
        return AMBIGUOUS if target == "LATIN" else None
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(char, greedy=True, preferred_aliases=[target.lower()])
    glyphs = [g["c"].casefold() for entry in found or [] for g in entry["homoglyphs"]]
    glyphs = [g for g in glyphs if len(g) == 1 and _script(g) == target]
    # plain letters first: a-z, then the basic Cyrillic alphabet, then the rest
    return min(glyphs, key=lambda g: (not ("a" <= g <= "z"), not ("а" <= g <= "я" or g == "ё"), g),
               default=None)


# ---------------------------------------------------------------- characters inside a word (#32)
# Any character that is neither a letter, a digit, a plain space nor a look-alike sign, sitting
# between two letters, may split a word to walk it past the rules: controls (NUL, \x01, \x1f, DEL,
# U+0085, tab), separators (no-break and other spaces, line and paragraph separators), punctuation
# and symbols ("chi.ld", "chi_ld", "k-i-d"). :func:`joined_readings` reads the text with them left
# out; :func:`pair_joins` with one plain space left out ("chi ld"); letters spelt one by one ("k i
# d s", "k.i.d.s") are joined. These readings are checked only where the plain ones are allowed.
_JOINER_CATEGORIES = {"Cc", "Cf", "Cn", "Co", "Zs", "Zl", "Zp", "Pc", "Pd", "Po", "Ps", "Pe", "Pi", "Pf",
                      "Sm", "Sk"}
MAX_PAIR_JOINS = 40


def _is_joiner(char: str) -> bool:
    return char != " " and char not in LOOKALIKE_DIGITS and unicodedata.category(char) in _JOINER_CATEGORIES


def _is_letter(char: str) -> bool:
    return char.isalnum() or char in LOOKALIKE_DIGITS


def joined_readings(text: str) -> list[str]:
    """The text with in-word junk left out, letters repeated three times or more cut, and letters
    spelt one by one joined."""
    return list(dict.fromkeys(r for r in [*without_junk(text), *squeezed(text), *spelt_out(text)] if r != text))


def without_junk(text: str) -> list[str]:
    """The text with each run of junk between two letters left out, one run at a time, then all
    ("chi.ld" -> "child"; "Ba\x00mbini-Fußball" -> "Bambini-Fußball")."""
    runs = [m.span() for m in re.finditer(r"(?<=[^\W_])[^\w ]+(?=[^\W_])|(?<=[^\W_])_+(?=[^\W_])", text)
            if all(_is_joiner(c) for c in m.group())]
    readings = [text[:a] + text[b:] for a, b in runs[:MAX_PAIR_JOINS]]
    if len(runs) > 1:
        readings.append(re.sub("|".join(re.escape(text[a:b]) for a, b in runs), "", text))
    return list(dict.fromkeys(readings))


# the one-letter words of the listed languages: only these may stand beside a spelt-out word
# ("a k i d s", "e n f a n t à", "в д е т с а д у"); "g i r l s" is "girls", never "girl" + "s"
ONE_LETTER_WORDS = frozenset("aiouyewzà" "авзиійкосуўя")


def squeezed(text: str) -> list[str]:
    """Readings with each run of three or more of one letter cut to one, then to two ("kiiiids" ->
    "kids", "todddler" -> "toddler"); none when the text has no such run."""
    run = re.compile(r"([^\W\d_])\1{2,}")
    if not run.search(text):
        return []
    return list(dict.fromkeys([run.sub(r"\1", text), run.sub(r"\1\1", text)]))


def spelt_out(text: str) -> list[str]:
    """Readings with each run of three or more single letters joined ("k i d s" -> "kids"); the
    run's first or last letter may be a one-letter word of its own ("a k i d s", "e n f a n t à")."""
    pieces = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[^\W_]+", text)]
    runs: list[tuple[int, int]] = []
    start = 0
    for k in range(1, len(pieces) + 1):
        breaks = (k == len(pieces) or len(pieces[k][0]) != 1 or len(pieces[k - 1][0]) != 1
                  or pieces[k][1] - pieces[k - 1][2] > 3)
        if breaks:
            if k - start >= 3:
                runs.append((start, k))
            start = k
    readings = []
    for first, last in runs:
        letters = "".join(p[0] for p in pieces[first:last])
        lo, hi = pieces[first][1], pieces[last - 1][2]
        for cut_front, cut_back in ((0, 0), (1, 0), (0, 1), (1, 1)):
            word = letters[cut_front:len(letters) - cut_back]
            cut = letters[:cut_front] + letters[len(letters) - cut_back:]
            if len(word) < 2 or not set(cut.casefold()) <= ONE_LETTER_WORDS:
                continue
            middle = " ".join(filter(None, [letters[:cut_front], word, letters[len(letters) - cut_back:]]))
            readings.append(text[:lo] + middle + text[hi:])
    return readings


def pair_joins(text: str) -> list[tuple[str, str]]:
    """(reading, joined word) for each plain space between two words left out ("chi ld")."""
    words = list(re.finditer(r"[^\W_]+", text))
    out = []
    for a, b in zip(words, words[1:]):
        if text[a.end():b.start()] == " " and (a.group() + b.group()).isalpha() and len(out) < MAX_PAIR_JOINS:
            out.append((text[:a.end()] + text[b.start():], a.group() + b.group()))
    return out
