"""The text rule: every registered text rule over one text, one verdict.

:func:`load_text_rule` builds it from the one reviewed term list, ``terms.yaml``, beside this
module (English and Russian sections), and the language lists of ``lexicons/``. A text is first
normalised (:func:`imagesearch.legal.normalise.variants`: NFKC, invisible characters, homoglyphs,
case), and every reading is checked: a text is blocked when any reading is, and the verdict comes
from the reading with the most evidence (the first on a tie). It is named after the firing rule of
lowest precedence, with the evidence of every rule that fired ("term" with words and ages, or "age"
alone).

Two passes. The English and Russian rules judge first, exactly as before the other languages were
added. Only a text they allow goes on: the second-pass rules (``second_pass = True``: the other
languages' lists, Russian in Latin letters, child emoji) read it, and then every rule reads it with
the characters that may split a word left out (:func:`~imagesearch.legal.normalise.joined_readings`,
:func:`~imagesearch.legal.normalise.pair_joins`). So no verdict, rule name or word the first pass
gives can change. A rule with ``reads_raw = True`` gets the text itself instead of the readings.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# importing the rule modules registers them (imagesearch.legal.rules.register_text_rule)
from imagesearch.legal import age_rule, lexicon_rule, russian, terms_rule, translit  # noqa: F401
from imagesearch.legal.lexicon import AGES, FUZZY
from imagesearch.legal.lexicon_rule import comparable, is_number_word, is_term_word
from imagesearch.legal.normalise import pair_joins, spelt_out, squeezed, variants, without_junk
from imagesearch.legal.rules import ALLOWED, TEXT_RULES, TextRuleComponent, Verdict
from imagesearch.legal.tokens import Tokenizer
from imagesearch.legal.translit import to_cyrillic
from imagesearch.legal.yaml_files import load_yaml

if TYPE_CHECKING:
    import pandas as pd

_WORDS = re.compile(r"[^\W_]+")

TERMS_PATH = Path(__file__).with_name("terms.yaml")


@dataclass(frozen=True)
class TextRule:
    """Child-content rule for texts: the registered rules by precedence, built from one term file."""

    rules: tuple[TextRuleComponent, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TextRule":
        """Build every registered rule from the parsed YAML mapping; ValueError names what is wrong."""
        joinable = frozenset(terms_rule.validated_terms(config)) | frozenset(config.get("not_terms") or [])
        tokenizer = Tokenizer(joinable)
        ordered = sorted(TEXT_RULES.values(), key=lambda rule: (rule.precedence, rule.name))
        return cls(tuple(rule.from_config(config, tokenizer) for rule in ordered))

    def check_first_pass(self, text: str) -> Verdict:
        """The English and Russian rules' verdict alone (the reviewed lists, as before issue #28)."""
        if not isinstance(text, str) or not text.strip():
            return ALLOWED
        return self._verdict(text, tuple(r for r in self.rules if not getattr(r, "second_pass", False)))

    def check(self, text: str) -> Verdict:
        """Verdict for one text; a non-string (None, NaN) is allowed (nothing describes a child)."""
        if not isinstance(text, str) or not text.strip():
            return ALLOWED
        verdict = self.check_first_pass(text)
        if verdict.blocked:
            return verdict
        verdict = self._verdict(text, tuple(r for r in self.rules if getattr(r, "second_pass", False)))
        if verdict.blocked:
            return verdict
        joined = without_junk(text)  # "ba.byyyy": the junk left out, then the letters squeezed
        for reading in dict.fromkeys([*joined, *squeezed(text), *(s for plain in joined for s in squeezed(plain))]):
            if (verdict := self._joined_verdict(text, reading)).blocked:
                return verdict
        token = FUZZY.set(False)  # a word spelt out or joined across a space is read as written
        try:
            for reading in spelt_out(text):
                if (verdict := self._joined_verdict(text, reading)).blocked:
                    return verdict
            for reading, word in [pair for plain in (text, *squeezed(text)) for pair in pair_joins(plain)]:
                if self._term_word(word) and (verdict := self._joined_verdict(text, reading)).blocked:
                    return verdict
        finally:
            FUZZY.reset(token)
        return ALLOWED

    def _term_word(self, word: str) -> bool:
        """A word joined across a space names a child by itself, not as an age ("летний"+"пёс")."""
        token = AGES.set(False)
        try:
            # not an age, and not English slang ("young in" is no "youngin")
            rules = tuple(r for r in self.rules if not r.name.startswith("age") and r.name != "term_en")
            return self._verdict(word, rules).blocked
        finally:
            AGES.reset(token)

    def _joined_verdict(self, text: str, reading: str) -> Verdict:
        """The verdict on a reading with characters left out, if its evidence is a word so joined
        ("chi.ld" -> "child"); evidence elsewhere in the text was judged in the plain reading."""
        verdict = self._verdict(reading, self.rules)
        if not verdict.blocked:
            return verdict
        plain = {comparable(w) for w in _WORDS.findall(text)}
        pieces = plain - {comparable(w) for w in _WORDS.findall(reading)}
        joined = {comparable(w) for w in _WORDS.findall(reading)} - plain
        if any(len(p) > 1 and is_term_word(p) for p in pieces) and not any(map(is_number_word, pieces)):
            # a term extended ("Bebek'te" -> "bebekte"): the plain reading judged it; but not a
            # number joined to it, an age ("trzynasto.latka" -> "trzynastolatka")
            return ALLOWED
        joined |= {to_cyrillic(w) for w in joined}
        if any(j in comparable(found) or comparable(found) in j for found in verdict.words for j in joined):
            return verdict
        return ALLOWED

    def _verdict(self, text: str, rules: tuple[TextRuleComponent, ...]) -> Verdict:
        best: list[tuple[str, list[str]]] = []
        raw = [(rule.name, words) for rule in rules if getattr(rule, "reads_raw", False)
               and (words := rule.evidence(text))]
        for reading in variants(text):
            fired = [(rule.name, words) for rule in rules
                     if not getattr(rule, "reads_raw", False) and (words := rule.evidence(reading))]
            if sum(map(len, (w for _, w in fired))) > sum(map(len, (w for _, w in best))):
                best = fired
        best = sorted(best + raw, key=lambda fired: self._order[fired[0]])
        if not best:
            return ALLOWED
        return Verdict(True, best[0][0], tuple(dict.fromkeys(w for _, words in best for w in words)))

    @property
    def _order(self) -> dict[str, int]:
        return {rule.name: i for i, rule in enumerate(self.rules)}

    def check_many(self, texts: Sequence[str]) -> list[Verdict]:
        return [self.check(text) for text in texts]


def load_text_rule(path: str | Path | None = None) -> TextRule:
    """Load the reviewed term list (default: the packaged ``terms.yaml``)."""
    path = Path(path) if path is not None else TERMS_PATH
    config = load_yaml(path)
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping with 'terms'")
    return TextRule.from_config(config)


def listed_english_words(path: str | Path | None = None) -> list[str]:
    """The English terms and not-terms of the term list: words the reviewed rule decided."""
    config = load_yaml(Path(path) if path is not None else TERMS_PATH)
    return [str(word) for key in ("terms", "not_terms") for word in config.get(key) or []]


def flag_texts(texts: pd.Series, rule: TextRule | None = None) -> pd.DataFrame:
    """Verdicts for a Series of texts: columns blocked (bool), rule (str), words (comma-joined str).

    The index is the input's index (e.g. query_id); missing texts are allowed.
    """
    import pandas as pd  # the pipeline's batch verdicts; a query's check needs no pandas

    rule = rule if rule is not None else load_text_rule()
    verdicts = rule.check_many(texts.tolist())
    return pd.DataFrame(
        {
            "blocked": [v.blocked for v in verdicts],
            "rule": [v.rule for v in verdicts],
            "words": [",".join(v.words) for v in verdicts],
        },
        index=texts.index,
    ).astype({"blocked": bool, "rule": str, "words": str})

