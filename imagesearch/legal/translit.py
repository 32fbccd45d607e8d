"""Russian typed in Latin letters: read back into Cyrillic, then judged by the Russian rules.

Three ways of writing Russian in Latin letters are read, letter groups longest first: ISO 9 and
the scholarly system (č š ž ŝ ë â û, ʹ for ь: "devočka", "škol'nik"), passport style (ICAO: zh,
kh, ts, ch, sh, shch, ia, iu, i for й: "pervoklassnitsa", "gitaroi") and informal chat spelling
(ya, yu, yo, j for й or ж, ' for ь, digits 4 = ч and 6 = ш: "mal4ik", "6kolnica"). Where a group
is ambiguous ("ts" is ц or т+с, "j" is й or ж) both readings are judged. A Russian term also
fires when the word matches one of its forms with the letters transliteration loses left out
(ь, ъ, й/и/ы, ё/е/э, щ/ш: "malchik" -> "малчик" = "мальчик").
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from imagesearch.legal.lexicon import AGES, FUZZY, analyse, russian_forms, script_languages
from imagesearch.legal.normalise import normalise
from imagesearch.legal.rules import register_text_rule
from imagesearch.legal.russian import RussianAgeRule, RussianTermRule
from imagesearch.legal.tokens import Tokenizer

_GROUPS = [("shch", "щ"), ("šč", "щ"), ("sch", "щ"), ("ŝ", "щ"), ("zh", "ж"), ("ž", "ж"), ("kh", "х"),
           ("ch", "ч"), ("č", "ч"), ("sh", "ш"), ("š", "ш"), ("yo", "ё"), ("jo", "ё"), ("ë", "ё"),
           ("yu", "ю"), ("ju", "ю"), ("iu", "ю"), ("û", "ю"), ("ya", "я"), ("ja", "я"), ("ia", "я"),
           ("â", "я"), ("ye", "е"), ("je", "е"), ("è", "э"), ("ė", "э"), ("'", "ь"), ("ʹ", "ь"),
           ("ʺ", "ъ"), ('"', "ъ"), ("a", "а"), ("b", "б"), ("v", "в"), ("w", "в"), ("g", "г"), ("d", "д"),
           ("e", "е"), ("z", "з"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
           ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "ц"), ("q", "к"),
           ("x", "кс"), ("4", "ч"), ("6", "ш"), ("3", "з")]
_GROUPS.sort(key=lambda g: len(g[0]), reverse=True)
_VOWELS = set("aeiouyёeaоуыэяюиëâûè")
_WORD = re.compile(r"[0-9a-zčšžŝëâûèė'ʹʺ]*[a-zčšžŝëâûèė][0-9a-zčšžŝëâûèė'ʹʺ]*")
# the Russian age rule reads a bare "летний" as one year old; in Latin letters "let na" joins into it
_SUMMER = re.compile(r"летн[а-я]*|летк[а-я]*")
_SKELETON = str.maketrans({"ь": "", "ъ": "", "ё": "е", "э": "е", "й": "и", "ы": "и", "щ": "ш"})


def to_cyrillic(word: str, ts: str = "ц", j: str = "й") -> str:
    """One Latin-letter word in Cyrillic (see the module docstring)."""
    out: list[str] = []
    i = 0
    word = word.strip("'ʹ")
    while i < len(word):
        rest = word[i:]
        prev = word[i - 1] if i else ""
        nxt = word[i + 1] if i + 1 < len(word) else ""
        at_end = i + 1 >= len(word)
        if rest.startswith(("yi", "yj", "iy", "ij")) and len(rest) == 2:
            out.append("ый" if rest[0] == "y" else "ий")
            break
        if rest.startswith("ts"):
            out.append(ts)
            i += 2
            continue
        char = word[i]
        if char == "y" and not rest.startswith(("ya", "yu", "yo", "ye")):
            out.append("й" if prev in _VOWELS and prev else "ы")
            i += 1
            continue
        if char == "j" and not rest.startswith(("ja", "ju", "jo", "je")):
            out.append(j)
            i += 1
            continue
        if char == "i" and prev in _VOWELS and prev and not rest.startswith(("ia", "iu")) and (at_end or nxt not in _VOWELS):
            out.append("й")
            i += 1
            continue
        for latin, cyrillic in _GROUPS:
            if rest.startswith(latin):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            out.append(char if char == "i" else char)
            i += 1
    return "".join(out).replace("i", "и")


def _light(text: str) -> str:
    """NFKC, invisible characters dropped, case folded; the letters with diacritics kept (ISO 9)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFC", text.casefold().replace("’", "'").replace("ʼ", "'"))


# letters of the other Latin-script lists: a text with one is not Russian typed in Latin letters
FOREIGN_LETTERS = re.compile("[äöüßñãõçğışłąęśźżćńóáíúàìòùîôéœæ]")


def cyrillic_readings(text: str) -> list[tuple[str, dict[str, str]]]:
    """The text with each Latin-letter word in Cyrillic, every reading (ts, j, plain or ISO), each
    with the Latin word every Cyrillic word came from."""
    readings: dict[str, dict[str, str]] = {}
    for source in dict.fromkeys((_light(text), normalise(text))):
        for ts, j in (("ц", "й"), ("тс", "ж")):
            origin: dict[str, str] = {}

            def convert(match: re.Match[str]) -> str:
                cyrillic = to_cyrillic(match.group(), ts, j)
                for part in re.findall(r"[а-яё]+", cyrillic):
                    origin.setdefault(part, match.group())
                return cyrillic

            readings.setdefault(_WORD.sub(convert, source), origin)
    return list(readings.items())


def latin_claimed(text: str) -> set[str]:
    """Latin words that a Latin-script list knows as a term, or reads inside an age ("syn" in a
    Polish text, "12-letni"): that list decides them, not the Russian one."""
    claimed: set[str] = set()
    reading = normalise(text)
    for lang in script_languages("latin"):
        analysis = analyse(lang, reading, FUZZY.get(), AGES.get())
        claimed |= {analysis.words[i] for i in analysis.lemmas}
        folded = [m for m in re.finditer(r"[^\W_]+", reading)]
        for _, _, a, b in analysis.ages:
            claimed |= {m.group() for m in folded if m.start() < b and a < m.end()}
    return claimed


def skeleton(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word.replace("ё", "е").translate(_SKELETON))


@lru_cache(maxsize=1)
def _skeletons() -> dict[str, str]:
    return {skeleton(form): lemma for form, lemma in sorted(russian_forms().items()) if len(skeleton(form)) >= 4}


@register_text_rule
@dataclass(frozen=True)
class RussianLatinRule:
    """Fires when the Russian rules fire on the text read back into Cyrillic; evidence: the Latin words."""

    term: RussianTermRule
    age: RussianAgeRule
    name = "term_ru_latn"
    precedence = 20
    second_pass = True
    reads_raw = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any], tokenizer: Tokenizer) -> "RussianLatinRule":
        return cls(RussianTermRule.from_config(config, tokenizer), RussianAgeRule.from_config(config, tokenizer))

    def evidence(self, text: str) -> list[str]:
        if not re.search(r"[a-zA-Z]", text) or FOREIGN_LETTERS.search(text.casefold()):
            return []
        claimed = {normalise(w) for w in latin_claimed(text)}
        best: list[str] = []
        for reading, origin in cyrillic_readings(text):
            found = self.term.evidence(reading) + (self.age.evidence(reading) if AGES.get() else [])
            skeletons = _skeletons()
            for word in re.findall(r"[а-яё]+", reading):
                if word not in found and skeleton(word) in skeletons and not self._adult(reading, word):
                    found.append(word)
            found = [f for f in found if not any(normalise(origin.get(w, "")) in claimed
                                                 for w in re.findall(r"[а-яё]+", f))
                     and not _SUMMER.fullmatch(f)]
            if len(found) > len(best):
                best = found
        return best

    def _adult(self, reading: str, word: str) -> bool:
        """The Russian rule's exceptions ("взрослый сын") for a word it could not parse."""
        return not self.term.evidence(reading.replace(word, _closest_form(word)))


def _closest_form(word: str) -> str:
    return next((form for form in russian_forms() if skeleton(form) == skeleton(word)), word)
