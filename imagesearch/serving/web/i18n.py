"""The search page's languages: every interface text in English and Russian, and which one a request gets.

The language is, in order: an explicit ``?lang=`` (the switch on the page; it is remembered in a
cookie), that cookie, the browser's ``Accept-Language`` (RFC 9110 q-values), English.

Queries may be written in either language (a Russian query is ranked through the multilingual
query map, :mod:`imagesearch.embedding.query_alignment`); the legal rule reads Russian too, so a
blocked Russian query gets the Russian disclaimer.
"""
from __future__ import annotations

import re

from imagesearch.legal.policy import UNCOVERED_MESSAGE, UNCOVERED_NOTICE
from imagesearch.legal.rules import DISCLAIMERS

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}  # each in its own language: the switch's links
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

# {names} are filled in with str.format; the query itself is never put into a text (it stays escaped).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Image search",
        "describe": "Describe the picture",
        "placeholder": "two dogs play in the snow",
        "count_label": "images",
        "button": "Search",
        "hint": ("{n} photos in the catalog. Describe what you want to see. Queries are checked against "
                 "local laws in English, Russian, Ukrainian, Belarusian, Kazakh, German, French, Spanish, "
                 "Italian, Portuguese, Polish and Turkish."),
        "languages": "Language",
        "not_available": "Not available",
        "summary": "Top {n} images for",
        "image_alt": "catalog image {image}",
        "score_title": "relevance in [0, 1]",
        "api": "JSON API",
        "empty": "Type a few words describing the picture you are looking for.",
        "bad_k": "The number of images must be a whole number from 1 to {max_k}.",
        "too_long": "Sorry: the query is longer than {max_chars} characters.",
        "query_error": "Sorry: this query cannot be searched.",
        "at_limit": "Your query reached the {max_chars}-character limit: anything typed after that was cut off.",
        "busy": "The search is busy right now: please try again in a moment.",
        "starting": "The search is starting: please try again in a few seconds.",
    },
    "ru": {
        "title": "Поиск изображений",
        "describe": "Опишите картинку",
        "placeholder": "например: две собаки играют в снегу",
        "count_label": "показать",
        "button": "Найти",
        "hint": ("Фотографий в каталоге: {n}. Опишите, что вы хотите увидеть. Запросы проверяются на "
                 "соответствие местным законам на русском, английском, украинском, белорусском, казахском, "
                 "немецком, французском, испанском, итальянском, португальском, польском и турецком."),
        "languages": "Язык",
        "not_available": "Недоступно",
        "summary": "Лучшие изображения ({n}) по запросу",
        "image_alt": "изображение из каталога {image}",
        "score_title": "релевантность от 0 до 1",
        "api": "API в формате JSON",
        "empty": "Напишите несколько слов о картинке, которую вы ищете.",
        "bad_k": "Число изображений должно быть целым числом от 1 до {max_k}.",
        "too_long": "Извините: запрос длиннее {max_chars} символов.",
        "query_error": "Извините: по этому запросу искать нельзя.",
        "at_limit": "Запрос достиг предела в {max_chars} символов: всё, что было после, отрезано.",
        "busy": "Поиск сейчас перегружен: попробуйте ещё раз через минуту.",
        "starting": "Поиск запускается: попробуйте ещё раз через несколько секунд.",
    },
}

_Q_VALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")  # RFC 9110 12.4.2: at most three decimals


def supported(lang: str | None) -> str | None:
    """``lang`` if the page has it ("ru", "RU"), else None."""
    lang = (lang or "").strip().lower()
    return lang if lang in LANGUAGES else None


def negotiate(accept_language: str | None) -> str:
    """The supported language the header prefers most; English where it names none.

    ``ru-RU,ru;q=0.9,en;q=0.8`` -> ru; ties keep the header's order; ``q=0`` means "not this one";
    ``*`` stands for any language, so it gives English; malformed items are skipped.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = float(value) if _Q_VALUE.fullmatch(value.strip()) else -1.0
        if quality <= 0 or not tag:
            continue
        primary = tag.split("-", 1)[0].lower()
        language = DEFAULT_LANGUAGE if primary == "*" else supported(primary)
        if language is not None:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def choose_language(explicit: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's language: explicit ``?lang=``, then the cookie, then the header."""
    return supported(explicit) or supported(cookie) or negotiate(accept_language)


def texts(lang: str) -> dict[str, str]:
    return TEXTS[lang]


#: The uncovered-language message (imagesearch.legal.policy.UNCOVERED_MESSAGE) in the page's languages.
UNCOVERED_MESSAGES = {
    "ru": ("Этот запрос нельзя проверить на соответствие местным законам на его языке; напишите его на "
           "одном из языков: русский, английский, украинский, белорусский, казахский, немецкий, французский, "
           "испанский, итальянский, португальский, польский, турецкий"),
}


#: The uncovered-language notice (imagesearch.legal.policy.UNCOVERED_NOTICE) in the page's languages.
UNCOVERED_NOTICES = {
    "ru": ("Запросы на этом языке проверяются на соответствие местным законам лишь приблизительно "
           "(проверяемые языки: русский, английский, украинский, белорусский, казахский, немецкий, французский, испанский, "
           "итальянский, португальский, польский, турецкий)"),
}


def disclaimer(lang: str, shown: str) -> str:
    """The disclaimer, the uncovered-language message or its notice in ``lang``; any other text of
    a policy is shown as it is."""
    if shown == DISCLAIMERS[DEFAULT_LANGUAGE]:
        return DISCLAIMERS[lang]
    if shown == UNCOVERED_MESSAGE:
        return UNCOVERED_MESSAGES.get(lang, shown)
    if shown == UNCOVERED_NOTICE:
        return UNCOVERED_NOTICES.get(lang, shown)
    return shown
