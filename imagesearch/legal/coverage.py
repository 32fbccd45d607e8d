"""Which texts the term lists can judge: a script or a language with no list is never passed silently.

The lists cover English, Russian (also typed in Latin letters), Ukrainian, Belarusian, Kazakh,
German, French, Spanish, Italian, Portuguese, Polish and Turkish: Latin and Cyrillic letters. A
text the rules allow is *uncovered* when

- a word is written wholly in another script (Han, Arabic, Greek, Devanagari, ...: "script:HAN");
  a word mixing scripts is a homoglyph disguise, which the normaliser reads, not a language; or
- it reads as a Latin- or Cyrillic-script language without a list ("lang:nl"): letters only that
  language has (Czech ř, Serbian ђ, ...) count two beside one of its function words, each function
  word of two letters or more counts one, and the score must reach 2 and beat every covered
  language's function words by 2. Short texts with no such evidence are judged covered: a name
  or a single word is not a language.

What happens to an uncovered text is ``legal.uncovered_language`` in params.yaml
(:class:`~imagesearch.legal.policy.LegalPolicy`).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from imagesearch.legal.lexicon import LANGUAGES, load_lexicon
from imagesearch.legal.normalise import normalise

COVERED_SCRIPTS = frozenset({"LATIN", "CYRILLIC"})
UNCOVERED_LETTERS = {"ř": "cs", "ě": "cs", "ů": "cs", "ő": "hu", "ű": "hu", "ø": "da", "æ": "da",
                     "å": "sv", "ș": "ro", "ț": "ro", "ð": "is", "þ": "is", "ơ": "vi", "ư": "vi",
                     "ђ": "sr", "ћ": "sr", "љ": "sr", "њ": "sr", "џ": "sr", "ј": "sr", "ѓ": "mk", "ќ": "mk",
                     "ѕ": "mk", "ĳ": "nl"}
UNCOVERED_MARKERS = {
    "nl": "de het een en met van op is bij voor naar zijn niet ook dat die aan jongen meisje kinderen "
          "kind spelen speelt in het park strand",
    "sv": "och en ett med pa av for ar till som den det inte vid barn pojke flicka leker",
    "da": "og en et med pa af for er til som den det ikke ved barn dreng pige leger",
    "nb": "og en et med pa av for er til som den det ikke ved barn gutt jente leker",
    "fi": "ja on ei se han etta kanssa lapsi lapset poika tytto puistossa rannalla leikkii",
    "cs": "a je se na v s z do ve ze k o dite deti chlapec divka holka kluk jsou hraje",
    "hu": "es a az egy van nem hogy gyerek fiu lany gyerekek parkban jatszik",
    "ro": "si in cu pe un o este la copil copii baiat fata se joaca",
    "hr": "i je u na sa se za od dijete djeca dete deca decak djevojcica igra",
    "id": "dan di yang dengan ke dari ini itu anak bermain taman pantai",
    "sq": "dhe ne me nje eshte femije",
    "lt": "ir su yra ant vaikas vaikai",
    "lv": "un ar ir uz berns berni",
    "et": "ja on ei koos laps lapsed",
    "vi": "va cua trong voi mot la tre em be",
    "tl": "ang ng sa mga at bata",
    "sw": "na ya wa katika mtoto watoto",
    "bg": "и на с в е се от за да със един една дете деца момче момиче бебе към",
    "mk": "и на со во е се од за дете деца момче девојче",
    "sr": "и на са у је се од за дете деца дечак девојчица",
    "mn": "ба болон нь хүүхэд хүү охин",
}
_WORD = re.compile(r"[^\W\d_]+")


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ")[0] if name else "UNKNOWN"


@lru_cache(maxsize=1)
def _covered_markers() -> dict[str, frozenset[str]]:
    markers = {lang: load_lexicon(lang).markers for lang in LANGUAGES}
    # Russian typed in Latin letters ("deti v parke")
    markers["ru-latn"] = frozenset("v na s so i u k po iz za dlya ot do eto chto kak ne a ego ee on ona oni vo "
                                   "pod nad okolo moi moya nash nasha".split())
    markers["ru"] = frozenset("и в на с со у к по из за для от до это что как не а его её их он она они "
                              "который которая при под над около".split())
    return markers


@lru_cache(maxsize=1)
def _uncovered_markers() -> dict[str, frozenset[str]]:
    return {lang: frozenset(normalise(words).split()) for lang, words in UNCOVERED_MARKERS.items()}


def uncovered(text: str) -> str | None:
    """Why the term lists cannot judge ``text`` ("script:HAN", "lang:nl"), or None when they can."""
    if not isinstance(text, str):
        return None
    raw = unicodedata.normalize("NFKC", text).casefold()
    for word in _WORD.findall(raw):
        scripts = {_script(c) for c in word if c.isalpha()}
        if len(scripts) == 1 and not scripts <= COVERED_SCRIPTS:
            return f"script:{scripts.pop()}"
    words = [w for w in (w.strip(".,;:!?()\"'«»") for w in normalise(text).split()) if len(w) > 1]
    scores = {lang: sum(w in markers for w in words) for lang, markers in _uncovered_markers().items()}
    for lang in {UNCOVERED_LETTERS[char] for char in raw if char in UNCOVERED_LETTERS}:
        if scores.get(lang):  # a letter counts beside a function word: "Ørsted wind farm" is English
            scores[lang] += 2
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] < 2:
        return None
    covered = max(sum(w in markers for w in words) for markers in _covered_markers().values())
    return f"lang:{best}" if scores[best] >= covered + 2 else None
