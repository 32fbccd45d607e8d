"""Words as the per-language lexicons compare them: the normaliser's reading with the letters a
keyboard may lack read plainly (Turkish ı -> i, Polish ł -> l; apostrophes dropped inside Cyrillic
words: "п'ять" -> "пять"; Kazakh letters typed as Russian ones, for the lists that ask for it)."""
from __future__ import annotations

LATIN_FOLD = str.maketrans({"ı": "i", "ł": "l", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ß": "ss"})
CYRILLIC_FOLD = str.maketrans({"ё": "е", "ґ": "г", "'": "", "’": "", "ʼ": "", "`": "", "ʹ": ""})
KAZAKH_FOLD = str.maketrans({"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у",
                             "һ": "х", "і": "и"})


def fold_word(word: str, lang: str) -> str:
    """A word or text as the lexicons compare it."""
    from imagesearch.legal.normalise import normalise

    return fold_text(normalise(word), lang)


def fold_text(text: str, lang: str) -> str:
    """Fold an already normalised reading for ``lang``'s lexicon."""
    text = text.replace("’", "'").replace("ʼ", "'")
    if lang in ("uk", "be", "kk", "ru"):
        return text.translate(CYRILLIC_FOLD)
    return text.translate(LATIN_FOLD)
