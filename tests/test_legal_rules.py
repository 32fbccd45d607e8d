"""The legal rule interface: the registry, a new rule joining it, the serving policy, the hand labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from imagesearch.errors import InputError
from imagesearch.legal.hand_labels import HAND_LABELS_PATH, load_hand_labels
from imagesearch.legal.policy import LegalPolicy, legal_check_lines
from imagesearch.legal.rules import TEXT_RULES, Verdict, register_text_rule
from imagesearch.legal.text_rule import TERMS_PATH, TextRule, load_text_rule
from imagesearch.legal.tokens import Tokenizer
from imagesearch.legal.visual import fit_visual_classifier
from imagesearch.serving.searcher import Searcher


@dataclass(frozen=True)
class ZebraRule:
    """A made-up rule for the test: any text naming a zebra foal."""

    tokenizer: Tokenizer
    name = "foal"
    precedence = 5

    @classmethod
    def from_config(cls, config, tokenizer: Tokenizer) -> "ZebraRule":
        return cls(tokenizer)

    def evidence(self, text: str) -> list[str]:
        return [t for t in self.tokenizer.tokens(text) if t in ("foal", "foals")]


def test_the_packaged_rules_are_registered_by_name() -> None:
    assert {"term", "age"} <= set(TEXT_RULES)
    assert [rule.name for rule in load_text_rule().rules][:2] == ["term", "age"]


def test_a_new_rule_is_one_class_and_its_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TEXT_RULES, "foal", ZebraRule)  # undone after the test
    rule = load_text_rule()
    assert rule.check("a zebra foal in the grass") == Verdict(True, "foal", ("foal",))
    # rules merge by precedence: "boy" (term, 0) names the verdict, every rule's evidence is kept
    assert rule.check("a boy and two foals") == Verdict(True, "term", ("boy", "foals"))
    assert not rule.check("a zebra in the grass").blocked


def test_registration_refuses_a_nameless_or_clashing_rule() -> None:
    class Nameless:
        pass

    with pytest.raises(TypeError):
        register_text_rule(Nameless)

    class Clash:
        name = "term"

    with pytest.raises(ValueError, match="registered already"):
        register_text_rule(Clash)


def test_the_policy_search_asks_is_the_rule(searcher: Searcher) -> None:
    assert searcher.search("two children play", k=3).disclaimer == searcher.policy.disclaimer
    policy = LegalPolicy(TextRule(searcher.policy.text_rule.rules + (ZebraRule(Tokenizer(frozenset())),)))
    strict = Searcher(searcher.model, searcher.text_encoder, searcher.catalog, searcher.image_side,
                      policy, searcher.manifest)
    assert searcher.search("a red foal", k=3).hits
    result = strict.search("a red foal", k=3)
    assert result.disclaimer and not result.hits and result.blocked_words == ("foal",)
    assert list(legal_check_lines(["a red foal", "a red car"], policy)) == ["blocked\tfoal:foal", "allowed"]


def test_the_visual_classifier_answers_as_an_image_rule() -> None:
    rng = np.random.default_rng(0)
    vectors = np.vstack([rng.normal(2, 1, (20, 4)), rng.normal(-2, 1, (20, 4))]).astype(np.float32)
    labels = np.array([1] * 20 + [0] * 20)
    classifier, _ = fit_visual_classifier(vectors, labels, list(range(40)), recall_target=1.0, folds=2)
    verdicts = LegalPolicy(load_text_rule(), classifier).check_image_vectors(vectors[[0, 39]])
    assert verdicts[0].blocked and verdicts[0].rule == "visual" and verdicts[0].words[0].startswith("p=")
    assert not verdicts[1].blocked
    with pytest.raises(RuntimeError, match="no visual classifier"):
        LegalPolicy(load_text_rule()).check_image_vectors(vectors)


def test_hand_labels_live_beside_the_term_list() -> None:
    assert HAND_LABELS_PATH.parent == TERMS_PATH.parent
    labels = load_hand_labels()
    assert len(labels) == 750 and set(labels["child"]) == {0, 1}


def test_missing_or_broken_hand_labels_are_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=str(tmp_path / "none.csv")):
        load_hand_labels(tmp_path / "none.csv")
    broken = tmp_path / "broken.csv"
    broken.write_text("query_id,child\na.jpg#0,1\na.jpg#1,yes\n")
    with pytest.raises(InputError, match=r"broken.csv: line 3: child must be 0 or 1"):
        load_hand_labels(broken)
    (tmp_path / "cols.csv").write_text("id,label\nx,1\n")
    with pytest.raises(InputError, match="missing columns"):
        load_hand_labels(tmp_path / "cols.csv")
