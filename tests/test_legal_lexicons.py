"""The legal rule in the languages people type (issues #28, #32).

- every language list blocks its plain words, inflections and ages, and leaves its traps alone
  ("jeune femme", "son vélo", "il mio ragazzo", "Kinder Bueno");
- Russian typed in Latin letters, child emoji, letters spelt out, one-edit misspellings;
- a character of any class inside a child term does not walk past the rule (#32), and adult texts
  keep their verdicts;
- a text no list can judge gets the uncovered-language policy, and no English or Russian text does;
- on the held-out rows of the hand-written sets the rule keeps the figures docs/legal.md reports.
"""
from __future__ import annotations

import sys
import unicodedata

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imagesearch.legal.coverage import uncovered
from imagesearch.legal.hand_labels import LANGUAGE_SETS, LANGUAGE_SETS_DIR, load_language_set, scores_by_set
from imagesearch.legal.lexicon import FORMS_PATH, FUZZY, LANGUAGES, load_lexicon
from imagesearch.legal.policy import UNCOVERED_RULE, LegalPolicy, legal_check_lines
from imagesearch.legal.text_rule import load_text_rule

RULE = load_text_rule()
POLICY = LegalPolicy(RULE)


@pytest.mark.parametrize("text", [
    "ein Junge fährt Fahrrad", "Hortkinder beim Mittagessen", "siebenjährige Zwillinge", "8-jährig am See",
    "niños en el parque", "chico de quince años patinando", "de seis años", "une fillette qui lit",
    "enfants de 2 à 4 ans", "bambini dai 2 ai 4 anni", "un ottenne in bici", "crianças de 2 a 4 anos",
    "dzieci na sankach", "piętnastoletni chłopak", "çocuklar parkta", "11 yaşındaki kızım",
    "діти на пляжі", "п'ятирічна дівчинка", "дзеці лепяць снегавіка", "пяцігадовая дзяўчынка",
    "балалар саябақта ойнап жүр", "2 жасар бала", "кыз бала велосипедпен",
])
def test_each_language_blocks_its_children(text: str) -> None:
    assert RULE.check(text).blocked, text


@pytest.mark.parametrize("text", [
    "jeune femme au café", "mujer joven en la playa", "giovani donne che fanno yoga", "junge Frauen beim Yoga",
    "młode kobiety na jodze", "genç kadınlar yoga yapıyor", "молода жінка п'є каву", "son vélo contre le mur",
    "girls' night out", "baby blue Vespa", "Vespa azul bebé", "kindergarten teacher's car",
    "adult son helping his father", "vzroslyi syn helping his father", "a kind man at the market",
    "il mio ragazzo al mare", "ella bebe vino en la terraza", "Kinder Bueno auf dem Tisch", "Bebek'te Boğaz manzarası",
    "baby z koła gospodyń wiejskich", "padre e hijo de 40 años pescando", "Vater und Sohn (40) beim Angeln",
    "Urlaub in Italien vor 3 Jahren", "perro de 12 años durmiendo", "ул. Абая, 10", "кеңседегі қыздар",
    "дівчата в офісі", "a 12 year old scotch", "Billy the Kid wanted poster", "👶🎀 baby shower cake",
])
def test_traps_are_allowed(text: str) -> None:
    assert not RULE.check(text).blocked, (text, RULE.check(text))


@pytest.mark.parametrize("text", [
    "deti v parke", "malysh spit", "mal4ik na velosipede", "6kolnica u doski", "devočki tancujut na scene",
    "pervoklassnitsa na lineike", "a malchik on a bike", "semiletnyaya devochka na plyazhe", "devochka, 6 let",
])
def test_russian_in_latin_letters_is_read_back(text: str) -> None:
    assert RULE.check(text).blocked, text


@pytest.mark.parametrize("text", [
    "👶", "👧🏽 on a swing", "👨\u200d👩\u200d👧 at the beach", "🧒🏿", "k i d s at the beach", "k.i.d.s at the beach",
    "k-i-d-s", "c h i l d r e n in a classroom", "todler with a teddy bear", "chidren playing", "kidz on bikes",
    "lil ones making crafts", "a chi\x00ld on a swing", "a chi\x7fld", "a chi\u0085ld", "a chi\tld", "a chi.ld",
    "a chi_ld", "a chi ld on a swing",
])
def test_disguises_are_blocked(text: str) -> None:
    assert RULE.check(text).blocked, repr(text)


@pytest.mark.parametrize("text", ["g i r l f r i e n d on the beach", "k i d n e y beans", "c-o-w-b-o-y hat",
                                  "a chill evening", "chili con carne", "south of the river", "puppies in a basket"])
def test_disguise_readings_add_no_false_alarm(text: str) -> None:
    assert not RULE.check(text).blocked, (text, RULE.check(text))


# ------------------------------------------------------------------------------ recall mechanisms (dev2)
@pytest.mark.parametrize("text", [
    # German decompounding: a child word as the modifier before a head naming the person or a
    # picture of them; a grade's pupil as the head
    "Kinderdarstellerin am Filmset", "Neugeborenenshooting mit Körbchen", "Mädchenchor in der Kirche",
    "Babyfoto von 1985", "Zweitklässlerin mit Ranzen", "Viertklässlern beim Sportfest",
    "Enkelin (4) bei Opa", "Foto von mir mit 6 an der Ostsee", "ich am ersten Schultag",
    # Turkish: a diminutive with a possessive, an ordinal grade with a case suffix
    "bebişim uyuyor", "birinci sınıfa başlayan öğrenci", "üçüncü sınıftaki öğrenciler",
    # Polish diminutives from simplemma's forms of the listed lemmas
    "moja córcia na karuzeli", "tata karmi dzidziusia",
    # Ukrainian words the Russian dictionary reads as the same lemma; a past age
    "хлопчики граються у хованки", "я в дитинстві з бабусею",
    # Belarusian: a grade's pupil compound, a past age
    "пяцікласнік на перапынку", "я ў дзяцінстве, 1994 год",
    # English phrases of several words
    "middle schoolers at the science fair", "when she was little", "grandkid (4) at the farm", "pre-k class",
])
def test_compounds_suffixes_diminutives_and_phrases_are_read(text: str) -> None:
    assert RULE.check(text).blocked, text


@pytest.mark.parametrize("text", [
    # German compounds whose head is a thing, a place or an adult serving children (decided in de.yaml)
    "Kinderarzt Praxisschild", "Kinderwagen im Flur", "Kinderschokolade Packung", "Kinderbuchautorin signiert",
    "Babyparty Deko", "Babybauch Shooting", "Zwölftklässler beim Abiball", "Zehntklässlerin (16) im Praktikum",
    "Tisch mit 6 Stühlen", "Junggesellinnenabschied, Mädels mit Schärpen",
    # Turkish: 16-19 are adults; "birinci sınıf" uninflected is "first-class"; dolls, animals, a district
    "on altı yaşındaki genç ilk işinde", "on yedi yaşındaki genç", "birinci sınıf kalite hizmet",
    "porselen bebek koleksiyonu", "hayvanat bahçesindeki bebek penguenler", "Bebek sahilinde kahvaltı",
    "askerdeki oğluyla konuşan anne", "3 yaşındaki safkan at yarışta",
    # the Russian dictionary still reads a Russian word as itself ("сине-жёлтый", not the Ukrainian "син")
    "сине-жёлтый флаг", "дзесяцікласнік на алімпіядзе",
])
def test_the_new_readings_keep_their_traps(text: str) -> None:
    assert not RULE.check(text).blocked, (text, RULE.check(text))


# ------------------------------------------------------------------------------ recall mechanisms (dev3)
@pytest.mark.parametrize("text", [
    # German diminutives of the person nouns (-chen, -lein, -le, -erl), grades and groups
    "Töchterlein im Taufkleid", "Bübchen am Strand", "Maderl mit Blumenkranz", "unser Söhnle beim Baden",
    "Kinderfasching Gruppenfoto", "Kleinkindschwimmen im Hallenbad", "Kita-Gruppe im Wald",
    "kleine Enkelin auf Opas Schoß", "Straßenkinder in Bukarest", "zwei Buam auf der Wiese",
    # Turkish: "yavru" with my/our, the diminutive; starting school; a suffix chain on a mutated stem
    "yavrumun ilk karnesi", "yavrularımız parkta", "yavrucak uyuyor", "torunum ilkokula başladı",
    "kucuk kiz bebegiyle oynuyor", "çocuğumun doğum günü",
    # Polish diminutives and child words, also typed without Polish letters
    "bobasek w śpiochach", "synuś śpi", "synus spi z misiem", "łobuziak z procą", "urwis na drzewie",
    "zerówka na wycieczce", "roczek Zosi", "zdjęcie z mojej pierwszej komunii", "dziewczynka z lalka",
    # English: letters repeated, a month age written "m.o."
    "kiiiids in a paddling pool", "babyyyy's first steps", "todddler with a teddy bear", "twins, 9 m.o.",
    # letters with a stroke or without a dot read plainly; more diminutives
    "bøy on a bike", "gırl on a swing", "Knäblein im Bett", "Jungchen im Sand", "wnusia z babcią",
])
def test_dev3_readings_are_blocked(text: str) -> None:
    assert RULE.check(text).blocked, text


@pytest.mark.parametrize("text", [
    "Kindle Paperwhite", "Berliner Kindl", "erwachsene Töchterlein", "Knirps Taschenschirm schwarz",
    "achtjähriger Single Malt", "Mädelsabend in der Bar",
    "köpek yavruları", "yavru kuşlar", "yavru vatan", "kedi yavrum uyuyor", "dokuz aylık hamile kadın",
    "çocuk oto koltuğu modelleri", "18 yaşına giren kızın doğum günü partisi", "kocam grip olunca tam bir 👶",
    "zlot maluchów w Bielsku", "pędraki w ogrodzie, szkodniki trawnika", "urwisko nad morzem",
    "16-latka na koncercie", "rok temu, roczek minął", "piwo zerówka",
    "g i r l s night out", "c h i l d s pose", "shhh, a quiet library", "200 m o", "jungle gym",
    "son-in-law at the grill", "Teenage Mutant Ninja Turtles figures", "figurka Dzieciątka w szopce",
    "jajko Kinder z figurką",
])
def test_dev3_readings_keep_their_traps(text: str) -> None:
    assert not RULE.check(text).blocked, (text, RULE.check(text))


# ------------------------------------------------------------------------------ #32
SEPARATORS = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7f, 0xa0)]
              + [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cf", "Zs")]
              + list(".,;:!?-_'\"/\\|*#~^+=()[]{}<>·•…–—‐"))


def _child_texts() -> list[str]:
    english = ["A little girl on a swing", "Two boys play soccer", "A toddler eats ice cream",
               "Children running in the park", "My son and daughter at the beach", "schoolchildren in line"]
    sets = pd.concat([load_language_set(name) for name in LANGUAGE_SETS if (LANGUAGE_SETS_DIR / f"{name}.csv").is_file()])
    return english + sets.loc[sets["child"] == 1, "text"].tolist()


def _blocked_as_written(word: str) -> bool:
    """Blocked without the misspelling and compound readings, which the disguise readings leave
    out (``lexicon.py``: a compound is no disguised word): those words are not split-proof."""
    token = FUZZY.set(False)
    try:
        return RULE.check(word).blocked
    finally:
        FUZZY.reset(token)


def _blocked_words(texts: list[str]) -> list[tuple[str, str]]:
    out = []
    for text in texts:
        verdict = RULE.check(text)
        folded = text.casefold()
        # words, not ages in digits: "12.-latek" reads as an ordinal, not a disguised "12-latek"
        out += [(text, w) for w in verdict.words
                if len(w) > 1 and " " not in w and w in folded and not any(c.isdigit() for c in w)
                and _blocked_as_written(w)]
    return out


CHILD_WORDS = _blocked_words(_child_texts())


@settings(max_examples=400, deadline=None)
@given(pair=st.sampled_from(CHILD_WORDS), char=st.sampled_from(SEPARATORS), where=st.integers(1, 100))
def test_any_control_format_separator_or_punctuation_inside_a_term_is_still_blocked(
        pair: tuple[str, str], char: str, where: int) -> None:
    text, word = pair
    start = text.casefold().index(word)
    at = start + 1 + where % (len(word) - 1)
    disguised = text[:at] + char + text[at:]
    assert RULE.check(disguised).blocked, (repr(disguised), hex(ord(char)))


# adult texts with no term in them (a text whose verdict rests on an exception, "il mio ragazzo",
# may be blocked once the exception's own words are split: the rule errs towards the disclaimer)
ADULT_TEXTS = ["Two dogs play in the snow", "A man rides a bike", "Собака бежит по пляжу", "jeune femme au café",
               "Mujer joven en la playa", "Hund im Park", "yoga yapan genç kadınlar", "молода жінка п'є каву"]


@settings(max_examples=200, deadline=None)
@given(text=st.sampled_from(ADULT_TEXTS), char=st.sampled_from(SEPARATORS), where=st.integers(0, 200))
def test_an_adult_text_keeps_its_verdict_whatever_is_inserted(text: str, char: str, where: int) -> None:
    letters = [i for i in range(1, len(text)) if text[i - 1].isalpha() and text[i].isalpha()]
    assume(letters)
    at = letters[where % len(letters)]
    assert not RULE.check(text[:at] + char + text[at:]).blocked


# ------------------------------------------------------------------------------ uncovered languages
@pytest.mark.parametrize("text, reason", [("一个男孩在公园里", "script:CJK"), ("ولد في الحديقة", "script:ARABIC"),
                                          ("ένα αγόρι στο πάρκο", "script:GREEK"),
                                          ("een man fietst in het park", "lang:nl"),
                                          ("dítě si hraje v parku", "lang:cs")])
def test_a_text_no_list_can_judge_is_refused_by_default_or_served_with_a_notice(text: str, reason: str) -> None:
    assert uncovered(text) == reason
    assert POLICY.check_text(text).blocked and POLICY.check_text(text).rule == UNCOVERED_RULE
    assert "cannot be checked" in POLICY.message(POLICY.check_text(text))
    notice = LegalPolicy(RULE, uncovered_language="notice")
    verdict = notice.check_text(text)
    assert not verdict.blocked and verdict.rule == UNCOVERED_RULE and notice.message(verdict)
    assert list(legal_check_lines([text], notice)) == [f"allowed\tnotice:{reason}"]


def test_no_covered_text_is_taken_for_an_uncovered_language() -> None:
    from imagesearch.legal.hand_labels import RUSSIAN_LABELS_PATH, load_hand_labels

    texts = pd.concat([load_language_set(name)["text"] for name in LANGUAGE_SETS
                       if (LANGUAGE_SETS_DIR / f"{name}.csv").is_file()]).tolist()
    texts += load_hand_labels(RUSSIAN_LABELS_PATH, ("text_id", "text", "child"))["text"].tolist()
    texts += ["two dogs play in the snow", "A man in a red shirt", "Sushi", "Ørsted wind farm"]
    assert [t for t in texts if uncovered(t)] == []


# ------------------------------------------------------------------------------ lists and figures
def test_every_lexicon_loads_and_records_its_decisions() -> None:
    import yaml

    for lang in LANGUAGES:
        lexicon = load_lexicon(lang)
        assert lexicon.terms and lexicon.script in ("latin", "cyrillic")
        config = yaml.safe_load((FORMS_PATH.parent / f"{lang}.yaml").read_text(encoding="utf-8"))
        assert config.get("decided_not_blocked"), lang


def test_the_forms_file_holds_what_the_libraries_give() -> None:
    pytest.importorskip("simplemma")
    from imagesearch.legal.lexicon_forms import library_forms

    import json

    stored = json.loads(FORMS_PATH.read_text(encoding="utf-8"))["forms"]
    for lang, terms in (("es", ["niño", "hijo"]), ("uk", ["дитина", "хлопчик"])):
        forms = library_forms(lang, terms)
        assert forms and all(form in stored[lang] for form in forms), lang


# figures measured on the held-out rows (docs/legal.md, "Other languages"); a change that lowers
# one fails here
EVAL_FLOORS = {"de": (0.92, 0.98), "fr": (0.98, 0.93), "es": (0.98, 0.93), "it": (0.96, 0.96), "pt": (0.98, 0.93),
               "pl": (0.96, 0.96), "tr": (0.92, 0.94), "uk": (0.96, 0.98), "be": (0.96, 0.91), "kk": (0.96, 0.94),
               "ru": (0.98, 0.94), "ru-latn": (1.0, 0.94), "en-disguised": (0.94, 0.92)}


def test_held_out_figures_hold() -> None:
    scores = scores_by_set(POLICY.check_text, "eval")
    for name, (recall, precision) in EVAL_FLOORS.items():
        if name in scores:
            assert scores[name]["recall"] >= recall and scores[name]["precision"] >= precision, (name, scores[name])


def test_libyaml_reads_every_legal_yaml_file_as_the_python_parser_does():
    import yaml

    from imagesearch.legal.lexicon import LEXICON_DIR
    from imagesearch.legal.text_rule import TERMS_PATH
    from imagesearch.legal.yaml_files import LOADER, load_yaml

    assert LOADER is yaml.CSafeLoader  # the locked PyYAML wheel has libyaml: the fast path is the tested one
    files = sorted(LEXICON_DIR.glob("*.yaml")) + [TERMS_PATH]
    assert len(files) == len(LANGUAGES) + 1
    for path in files:
        assert load_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize("text, blocked", [
    ("trzynasto-latka z psem", True),            # a number joined to a term word across junk: an age
    ("trzynasto\x00latka z psem na smyczy", True),
    ("ba\x00byyyy's first steps", True),         # junk inside a squeezed word
    ("ba byyyy's first steps", True),
    ("Мама c коляской на прогулке", True),       # a Latin look-alike word among Cyrillic ones
    ("Bebek'te Boğaz manzarası", False),         # a term extended by a suffix: the place, judged as written
])
def test_words_joined_across_junk(text: str, blocked: bool) -> None:
    assert RULE.check(text).blocked is blocked
