"""The text rule: every registered text rule over one text, one verdict.

:func:`load_text_rule` builds it from the one reviewed term list, ``terms.yaml``, beside this
module (English and Russian sections). A text is first normalised
(:func:`imagesearch.legal.normalise.variants`: NFKC, invisible characters, homoglyphs, case), and
every reading is checked: a text is blocked when any reading is, and the verdict comes from the
reading with the most evidence (the first on a tie). It is named after the firing rule of lowest
precedence, with the evidence of every rule that fired ("term" with words and ages, or "age" alone).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

# importing the rule modules registers them (imagesearch.legal.rules.register_text_rule)
from imagesearch.legal import age_rule, russian, terms_rule  # noqa: F401
from imagesearch.legal.normalise import variants
from imagesearch.legal.rules import ALLOWED, TEXT_RULES, TextRuleComponent, Verdict
from imagesearch.legal.tokens import Tokenizer

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

    def check(self, text: str) -> Verdict:
        """Verdict for one text; a non-string (None, NaN) is allowed (nothing describes a child)."""
        if not isinstance(text, str) or not text.strip():
            return ALLOWED
        best: list[tuple[str, list[str]]] = []
        for reading in variants(text):
            fired = [(rule.name, words) for rule in self.rules if (words := rule.evidence(reading))]
            if sum(map(len, (w for _, w in fired))) > sum(map(len, (w for _, w in best))):
                best = fired
        if not best:
            return ALLOWED
        return Verdict(True, best[0][0], tuple(dict.fromkeys(w for _, words in best for w in words)))

    def check_many(self, texts: Sequence[str]) -> list[Verdict]:
        return [self.check(text) for text in texts]


def load_text_rule(path: str | Path | None = None) -> TextRule:
    """Load the reviewed term list (default: the packaged ``terms.yaml``)."""
    path = Path(path) if path is not None else TERMS_PATH
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping with 'terms'")
    return TextRule.from_config(config)


def listed_english_words(path: str | Path | None = None) -> list[str]:
    """The English terms and not-terms of the term list: words the reviewed rule decided."""
    config = yaml.safe_load((Path(path) if path is not None else TERMS_PATH).read_text())
    return [str(word) for key in ("terms", "not_terms") for word in config.get(key) or []]


def flag_texts(texts: pd.Series, rule: TextRule | None = None) -> pd.DataFrame:
    """Verdicts for a Series of texts: columns blocked (bool), rule (str), words (comma-joined str).

    The index is the input's index (e.g. query_id); missing texts are allowed.
    """
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

