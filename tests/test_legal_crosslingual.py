"""The cross-lingual second line: trained on English words, it decides only words the term list
and the Russian dictionary do not know, and serving loads exactly what the stage measured. Since
the language lists (issue #28) it is asked only for a text no list can judge, when the
uncovered-language policy is "notice"."""
from __future__ import annotations

from dataclasses import replace

import pytest


from imagesearch.legal.crosslingual import CrosslingualWordRule, fit_crosslingual_rule, words_of  # noqa: E402
from imagesearch.legal.policy import LegalPolicy, legal_check_lines  # noqa: E402
from imagesearch.legal.text_rule import load_text_rule  # noqa: E402

RULE = load_text_rule()


@pytest.fixture(scope="module")
def second_line(crosslingual_rule) -> CrosslingualWordRule:
    return crosslingual_rule


def test_words_are_normalised_letters_only() -> None:
    assert words_of("Ｄｉｅ Kin\u200bder, 7 Jahre!") == ["die", "kinder", "jahre"]


def test_catches_child_words_of_other_languages(second_line: CrosslingualWordRule) -> None:
    for text in ("Kinder spielen auf dem Spielplatz", "Niños jugando en el parque", "Des enfants au parc"):
        verdict = second_line.check(text)
        assert verdict.blocked and verdict.rule == "crosslingual", text
    assert not second_line.check("Hund am Strand").blocked


def test_never_decides_words_the_reviewed_rules_know(second_line: CrosslingualWordRule) -> None:
    # English vocabulary it was trained on, the listed not-terms, and Russian dictionary words
    assert second_line.unseen(words_of("a man reads in a cafe near a cowboy")) == []
    assert second_line.unseen(words_of("Мальчишник в баре")) == []
    assert not second_line.check("a woman walks the dog").blocked


def test_saved_rule_gives_same_verdicts_and_bytes(second_line: CrosslingualWordRule, tmp_path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    second_line.save(first)
    loaded = CrosslingualWordRule.load(first)
    loaded.save(second)
    assert first.read_bytes() == second.read_bytes()
    texts = ["Ein Junge springt in den Pool", "Une femme lit", "Un niño con su perro", "a man"]
    assert [loaded.check(t) for t in texts] == [second_line.check(t) for t in texts]


DUTCH_CHILD, DUTCH_ADULT = "Het meisje speelt in het park", "Een man fietst in het park"


def test_policy_asks_the_second_line_only_for_uncovered_texts_under_notice(second_line: CrosslingualWordRule) -> None:
    notice = LegalPolicy(RULE, crosslingual=replace(second_line, uncovered_language="notice"),
                         uncovered_language="notice")
    assert notice.check_text("two boys").rule == "term"
    assert notice.check_text("Kinder spielen").rule == "term_de"  # a covered language: its own list
    assert notice.check_text(DUTCH_CHILD).rule == "crosslingual"
    lines = list(legal_check_lines([DUTCH_CHILD, "a man", DUTCH_ADULT], notice))
    assert lines[0].startswith("blocked\tcrosslingual:") and lines[1] == "allowed"
    assert lines[2] == "allowed\tnotice:lang:nl"
    refuse = LegalPolicy(RULE, crosslingual=second_line)
    assert refuse.check_text(DUTCH_ADULT).rule == "uncovered_language"


def test_too_few_child_words_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="child words"):
        fit_crosslingual_rule(["a man", "a dog", "a car"], [], lambda w: False, recall=0.98, folds=3, seed=0)


def test_search_serves_the_second_line_from_the_index(search_index, notice_index) -> None:
    from imagesearch.serving.searcher import Searcher

    assert Searcher.load(search_index.folder).search("Kinder spielen", k=2).disclaimer is not None  # the German list
    searcher = Searcher.load(notice_index)
    assert searcher.policy.uncovered_language == "notice"
    served = searcher.search(DUTCH_ADULT, k=2)  # served, best effort, with the notice
    assert served.disclaimer is None and len(served.hits) == 2 and served.notice == searcher.policy.message(
        searcher.policy.check_text(DUTCH_ADULT))
    blocked = searcher.search(DUTCH_CHILD, k=2)
    assert blocked.disclaimer is not None and blocked.hits == () and blocked.notice is None
    covered = searcher.search("two dogs run on the beach", k=2)
    assert covered.disclaimer is None and covered.notice is None
