"""Child-content rules for texts, images and queries (issue #4).

The law: no information showing or describing a person under 16 may be provided without parental
consent. This module holds pure functions only; ``stages/legal.py`` does the I/O.

- :class:`TextRule` decides whether a caption or query describes a child. Its terms live in one
  reviewed file, ``imagesearch/legal/terms.yaml``; :func:`load_text_rule` reads it.
- :func:`blocked_images_from_captions` carries caption verdicts over to the images the captions
  describe (their own image, and images annotators confirmed as matching).
- :func:`fit_visual_classifier` learns, from those caption-derived image labels, a classifier on
  image vectors for images that no caption describes.
- :func:`legal_check_lines` backs ``imagesearch legal-check``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from nltk.tokenize import RegexpTokenizer

DISCLAIMER = "This image is unavailable in your country in compliance with local laws"

TERMS_PATH = Path(__file__).with_name("terms.yaml")

# Words, numbers (with decimals and glued suffixes: "5yo", "3rd", "12yrs"), hyphenated and
# apostrophised words kept whole so that they can be joined or split deliberately below.
_TOKENIZER = RegexpTokenizer(r"\d+(?:\.\d+)?[a-z]*|[a-z]+(?:['\-][a-z0-9]+)*'?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u2013": "-", "\u2014": "-",
                              "\u2010": "-", "\u2011": "-"})
_ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_NUMBER_GLUED = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_ORDINAL_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
                  "seventh": 7, "eighth": 8, "ninth": 9}
_ORDINAL_TEENS = {"tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
                  "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
                  "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40,
                  "fiftieth": 50}


@dataclass(frozen=True)
class Verdict:
    """The rule's answer for one text: ``rule`` is "term", "age" ("" when allowed), ``words`` fired."""

    blocked: bool
    rule: str
    words: tuple[str, ...]


ALLOWED = Verdict(False, "", ())


def plural_forms(token: str) -> frozenset[str]:
    """The token and its singular candidates: kids -> kid, babies -> baby, boxes -> box.

    An explicit normaliser instead of a stemmer: stemmers map "kidding" to "kid".
    """
    forms = {token}
    if len(token) > 3 and token.endswith("ies"):
        forms.add(token[:-3] + "y")
    if len(token) > 2 and token.endswith("es") and token[:-2].endswith(("s", "x", "z", "ch", "sh")):
        forms.add(token[:-2])
    if len(token) > 1 and token.endswith("s") and not token.endswith("ss"):
        forms.add(token[:-1])
    return frozenset(forms)


def _strip_possessive(token: str) -> str:
    if token.endswith("'s"):
        return token[:-2]
    return token.rstrip("'")


@dataclass(frozen=True)
class TextRule:
    """Child-content rule for texts: terms, phrases, exceptions and ages (see terms.yaml)."""

    terms: frozenset[str]
    phrases: tuple[tuple[str, ...], ...] = ()
    exceptions: tuple[tuple[str, ...], ...] = ()
    not_terms: frozenset[str] = frozenset()
    min_allowed_age: float = 16.0
    max_blocked_grade: int = 10
    units: Mapping[str, float] = field(default_factory=lambda: {"year": 1.0})
    non_persons: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TextRule":
        """Build a rule from the parsed YAML mapping; ValueError names what is wrong."""
        terms = config.get("terms") or []
        if not terms:
            raise ValueError("legal term list: 'terms' is empty")
        bad = [t for t in terms if not isinstance(t, str) or not re.fullmatch(r"[a-z]+", t)]
        if bad:
            raise ValueError(f"legal term list: terms must be single lower-case words: {bad}")
        age = config.get("age") or {}
        return cls(
            terms=frozenset(terms),
            phrases=tuple(tuple(p.lower().split()) for p in config.get("phrases") or []),
            exceptions=tuple(tuple(p.lower().split()) for p in config.get("exceptions") or []),
            not_terms=frozenset(config.get("not_terms") or []),
            min_allowed_age=float(age.get("min_allowed_age", 16)),
            max_blocked_grade=int(age.get("max_blocked_grade", 10)),
            units={str(k): float(v) for k, v in (age.get("units") or {"year": 1.0}).items()},
            non_persons=frozenset(age.get("non_persons") or []),
        )

    # ---------------------------------------------------------------- tokens
    def tokens(self, text: str) -> list[str]:
        """Lower-cased word tokens: possessives dropped, hyphenated words joined or split."""
        out: list[str] = []
        for raw in _TOKENIZER.tokenize(text.lower().translate(_APOSTROPHES)):
            token = _strip_possessive(raw)
            if not token:
                continue
            if "-" in token:
                joined = token.replace("-", "")
                if plural_forms(joined) & (self.terms | self.not_terms):
                    out.append(joined)
                    continue
                out.extend(_split_glued(part) for part in token.split("-") if part)
                continue
            out.append(_split_glued(token))
        # _split_glued may return "5 yo": flatten
        return [piece for item in out for piece in item.split(" ")]

    # ---------------------------------------------------------------- check
    def check(self, text: str) -> Verdict:
        """Verdict for one text; a non-string (None, NaN) is allowed (nothing describes a child)."""
        if not isinstance(text, str) or not text.strip():
            return ALLOWED
        tokens = self.tokens(text)
        forms = [plural_forms(t) for t in tokens]
        excluded: set[int] = set()
        for phrase in self.exceptions:
            for start in _phrase_starts(phrase, forms):
                excluded.update(range(start, start + len(phrase)))
        words: list[str] = []
        for phrase in self.phrases:
            for start in _phrase_starts(phrase, forms):
                if not excluded & set(range(start, start + len(phrase))):
                    words.append(" ".join(tokens[start:start + len(phrase)]))
        for i, token_forms in enumerate(forms):
            if i not in excluded and token_forms & self.terms:
                words.append(tokens[i])
        ages = self._ages(tokens)
        if words:
            return Verdict(True, "term", tuple(dict.fromkeys(words + ages)))
        if ages:
            return Verdict(True, "age", tuple(dict.fromkeys(ages)))
        return ALLOWED

    def _unit(self, token: str) -> float | None:
        for form in plural_forms(token):
            if form in self.units:
                return self.units[form]
        return None

    def _about_non_person(self, tokens: list[str], end: int) -> bool:
        """True when the word after an age span names an animal or thing ("a 2-year-old dog")."""
        return end < len(tokens) and bool(plural_forms(tokens[end]) & self.non_persons)

    def _ages(self, tokens: list[str]) -> list[str]:
        """Spans that state an age below ``min_allowed_age`` (or a low school grade)."""
        found: list[str] = []
        n = len(tokens)
        for i, token in enumerate(tokens):
            unit = self._unit(token)
            if unit is not None:
                following = tokens[i + 1:i + 3]
                end = i + 2 if following[:1] in (["old"], ["olds"]) else i + 3
                if end == i + 2 or following == ["of", "age"]:
                    number = _number_before(tokens, i)
                    if (number is not None and number[0] * unit < self.min_allowed_age
                            and not self._about_non_person(tokens, end)):
                        found.append(" ".join(tokens[number[1]:end]))
            elif token == "yo" or (token == "y" and tokens[i + 1:i + 2] == ["o"]):
                end = i + 1 if token == "yo" else i + 2
                number = _number_before(tokens, i)
                if (number is not None and number[0] < self.min_allowed_age
                        and not self._about_non_person(tokens, end)):
                    found.append(" ".join(tokens[number[1]:end]))
            elif token in ("age", "aged", "ages"):
                number = _number_after(tokens, i + 1)
                if number is not None:
                    value, end = number
                    scale = self._unit(tokens[end]) if end < n else None
                    if value * (scale if scale is not None else 1.0) < self.min_allowed_age:
                        found.append(" ".join(tokens[i:end + (scale is not None)]))
            elif token in ("birthday", "birthdays"):
                ordinal = _ordinal_before(tokens, i)
                if ordinal is not None and ordinal[0] < self.min_allowed_age:
                    found.append(" ".join(tokens[ordinal[1]:i + 1]))
            elif token in ("grade", "grader", "graders"):
                ordinal = _ordinal_before(tokens, i)
                if ordinal is not None and ordinal[0] <= self.max_blocked_grade:
                    found.append(" ".join(tokens[ordinal[1]:i + 1]))
        return found


def _split_glued(token: str) -> str:
    """"5yo" -> "5 yo", "12yrs" -> "12 yrs"; ordinals ("3rd") and plain tokens unchanged."""
    if _ORDINAL_DIGITS.match(token):
        return token
    glued = _NUMBER_GLUED.match(token)
    if glued:
        return f"{glued.group(1)} {glued.group(2)}"
    return token


def _phrase_starts(phrase: tuple[str, ...], forms: list[frozenset[str]]) -> Iterator[int]:
    wanted = [plural_forms(word) for word in phrase]
    for start in range(len(forms) - len(phrase) + 1):
        if all(wanted[k] & forms[start + k] for k in range(len(phrase))):
            yield start


def _cardinal(tokens: list[str], j: int) -> tuple[float, int] | None:
    """The number that ends at ``tokens[j]`` as (value, start index), or None."""
    if j < 0:
        return None
    token = tokens[j]
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token), j
    if token in _UNITS:
        if j > 0 and tokens[j - 1] in _TENS:
            return float(_TENS[tokens[j - 1]] + _UNITS[token]), j - 1
        return float(_UNITS[token]), j
    if token in _TEENS:
        return float(_TEENS[token]), j
    if token in _TENS:
        return float(_TENS[token]), j
    return None


def _number_before(tokens: list[str], i: int) -> tuple[float, int] | None:
    """The number right before ``tokens[i]``: "7", "seven", "twenty one", "two and a half", "a"."""
    j = i - 1
    if j < 0:
        return None
    if tokens[j] == "half":
        if j >= 3 and tokens[j - 2:j] == ["and", "a"]:
            base = _cardinal(tokens, j - 3)
            if base is not None:
                return base[0] + 0.5, base[1]
        return 0.5, j - 1 if j > 0 and tokens[j - 1] in ("a", "one") else j
    if tokens[j] in ("a", "an"):
        return 1.0, j
    return _cardinal(tokens, j)


def _number_after(tokens: list[str], j: int) -> tuple[float, int] | None:
    """The number starting at ``tokens[j]`` as (value, index after it), or None."""
    if j >= len(tokens):
        return None
    token = tokens[j]
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token), j + 1
    if token in _TENS:
        if j + 1 < len(tokens) and tokens[j + 1] in _UNITS:
            return float(_TENS[token] + _UNITS[tokens[j + 1]]), j + 2
        return float(_TENS[token]), j + 1
    if token in _UNITS:
        return float(_UNITS[token]), j + 1
    if token in _TEENS:
        return float(_TEENS[token]), j + 1
    return None


def _ordinal_before(tokens: list[str], i: int) -> tuple[float, int] | None:
    """The ordinal right before ``tokens[i]``: "3rd", "third", "twenty first"."""
    j = i - 1
    if j < 0:
        return None
    token = tokens[j]
    digits = _ORDINAL_DIGITS.match(token)
    if digits:
        return float(digits.group(1)), j
    if token in _ORDINAL_UNITS:
        if j > 0 and tokens[j - 1] in _TENS:
            return float(_TENS[tokens[j - 1]] + _ORDINAL_UNITS[token]), j - 1
        return float(_ORDINAL_UNITS[token]), j
    if token in _ORDINAL_TEENS:
        return float(_ORDINAL_TEENS[token]), j
    return None


def load_text_rule(path: str | Path | None = None) -> TextRule:
    """Load the reviewed term list (default: the packaged ``terms.yaml``)."""
    path = Path(path) if path is not None else TERMS_PATH
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping with 'terms'")
    return TextRule.from_config(config)


def flag_texts(texts: pd.Series, rule: TextRule | None = None) -> pd.DataFrame:
    """Verdicts for a Series of texts: columns blocked (bool), rule (str), words (comma-joined str).

    The index is the input's index (e.g. query_id); missing texts are allowed.
    """
    rule = rule if rule is not None else load_text_rule()
    verdicts = [rule.check(text) for text in texts.tolist()]
    return pd.DataFrame(
        {
            "blocked": [v.blocked for v in verdicts],
            "rule": [v.rule for v in verdicts],
            "words": [",".join(v.words) for v in verdicts],
        },
        index=texts.index,
    ).astype({"blocked": bool, "rule": str, "words": str})


# ------------------------------------------------------------------------- images from captions
def described_images(
    pairs: pd.DataFrame, expert_confirm_mean: float, crowd_confirm_share: float
) -> pd.DataFrame:
    """(image, query_id) for every caption and each image it describes.

    A caption describes its own image (``query_image``) and every image annotators confirmed:
    expert mean >= ``expert_confirm_mean`` (1-4 scale) or crowd share >= ``crowd_confirm_share``;
    rows with source "own" count as confirmed.
    """
    missing = {"image", "query_id", "query_image"} - set(pairs.columns)
    if missing:
        raise ValueError(f"pairs lack columns {sorted(missing)}")
    own = pd.DataFrame({"image": pairs["query_image"], "query_id": pairs["query_id"]})
    confirmed = pd.Series(False, index=pairs.index)
    if "expert_mean" in pairs:
        confirmed |= pairs["expert_mean"].astype(float).ge(expert_confirm_mean).fillna(False)
    if "crowd_share" in pairs:
        confirmed |= pairs["crowd_share"].astype(float).ge(crowd_confirm_share).fillna(False)
    if "source" in pairs:
        confirmed |= pairs["source"].eq("own").fillna(False)
    judged = pairs.loc[confirmed, ["image", "query_id"]]
    out = pd.concat([own, judged], ignore_index=True).astype(str)
    return out.drop_duplicates().reset_index(drop=True)


def blocked_images_from_captions(
    pairs: pd.DataFrame,
    flagged_query_ids: pd.DataFrame | Iterable[str],
    expert_confirm_mean: float,
    crowd_confirm_share: float,
) -> pd.DataFrame:
    """Images a flagged caption describes: columns image, rule, words, via_query_id.

    ``flagged_query_ids`` is either :func:`flag_texts` output indexed by query_id (rows with
    ``blocked`` False are ignored) or an iterable of query ids (then rule is "caption").
    One row per image; rule/words are the union over its flagged captions ("age+term",
    "boy,kids"), via_query_id the space-separated sorted query ids that block it.
    """
    if isinstance(flagged_query_ids, pd.DataFrame):
        flags = flagged_query_ids
        if "blocked" in flags:
            flags = flags[flags["blocked"].astype(bool)]
        flags = flags[["rule", "words"]].copy()
    else:
        ids = sorted(set(map(str, flagged_query_ids)))
        flags = pd.DataFrame({"rule": "caption", "words": ""}, index=pd.Index(ids))
    flags.index = flags.index.astype(str)
    flags = flags[~flags.index.duplicated()]
    described = described_images(pairs, expert_confirm_mean, crowd_confirm_share)
    hits = described[described["query_id"].isin(flags.index)]
    hits = hits.join(flags, on="query_id")
    rows = []
    for image, group in hits.sort_values("query_id").groupby("image", sort=True):
        rules = sorted({r for r in group["rule"] if r})
        words = sorted({w for ws in group["words"] for w in str(ws).split(",") if w})
        rows.append((image, "+".join(rules), ",".join(words), " ".join(group["query_id"])))
    return pd.DataFrame(rows, columns=["image", "rule", "words", "via_query_id"]).astype(str)


# ------------------------------------------------------------------------- visual classifier
@dataclass
class VisualClassifier:
    """Logistic regression on image vectors; ``threshold`` on its probability blocks an image."""

    model: Any
    threshold: float
    dim: int
    metrics: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Probability (n,) that each image (rows of ``vectors``, shape (n, dim)) shows a child."""
        vectors = _check_vectors(vectors, self.dim)
        if len(vectors) == 0:
            return np.zeros(0, dtype=float)
        return self.model.predict_proba(vectors)[:, 1]

    def predict_blocked(self, vectors: np.ndarray) -> np.ndarray:
        """Boolean (n,): probability at or above the chosen threshold."""
        return self.predict_proba(vectors) >= self.threshold

    def save(self, path: str | Path) -> None:
        """Write with joblib to ``path`` (callers make it atomic)."""
        import joblib

        joblib.dump({"model": self.model, "threshold": self.threshold, "dim": self.dim,
                     "metrics": self.metrics}, path)

    @classmethod
    def load(cls, path: str | Path) -> "VisualClassifier":
        """Read a classifier written by :meth:`save`."""
        import joblib

        state = joblib.load(path)
        return cls(state["model"], float(state["threshold"]), int(state["dim"]), state["metrics"])


def _check_vectors(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-d (n, d), got shape {vectors.shape}")
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(f"vectors have {vectors.shape[1]} columns, the classifier expects {dim}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors contain NaN or infinite values")
    return vectors


def threshold_for_recall(
    scores: np.ndarray, labels: np.ndarray, recall_target: float
) -> tuple[float, float, float]:
    """Highest threshold whose recall (scores >= t) is at least ``recall_target``.

    Returns (threshold, recall, precision) measured on these scores.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels).astype(bool)
    positives = np.sort(scores[labels])[::-1]
    if len(positives) == 0:
        raise ValueError("no positive labels: cannot choose a threshold for recall")
    k = max(1, math.ceil(recall_target * len(positives) - 1e-9))
    threshold = float(positives[k - 1])
    predicted = scores >= threshold
    recall = float((predicted & labels).sum() / labels.sum())
    precision = float((predicted & labels).sum() / max(predicted.sum(), 1))
    return threshold, recall, precision


def fit_visual_classifier(
    vectors: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray | Iterable[Any],
    recall_target: float = 0.95,
    folds: int = 5,
    seed: int = 0,
    C: float | Sequence[float] = (0.001, 0.003, 0.01, 0.03, 0.1),
) -> tuple[VisualClassifier, dict[str, Any]]:
    """Fit a child-image classifier on image vectors (n, d) and 0/1 caption-derived labels (n,).

    Standardised logistic regression (balanced class weights). Out-of-fold probabilities from
    StratifiedGroupKFold (``groups``: one id per row, e.g. the image) choose the inverse
    regularisation ``C`` (best OOF ROC-AUC over the given values), give the CV ROC-AUC and the
    threshold that keeps ``recall_target`` recall on the validation folds; the final model is
    refitted on all rows with that C and uses that threshold. Strong regularisation matters:
    with C=1 the 1280-d model is near-separable, its probabilities collapse to 0/1 and the
    refitted model no longer matches the out-of-fold threshold.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    vectors = _check_vectors(vectors)
    labels = np.asarray(labels).astype(int)
    groups = np.asarray(list(groups))
    if labels.shape != (len(vectors),) or groups.shape != (len(vectors),):
        raise ValueError(
            f"{len(vectors)} vectors need as many labels and groups, got {labels.shape}, {groups.shape}"
        )
    if not set(np.unique(labels)) <= {0, 1}:
        raise ValueError("labels must be 0/1")
    n_pos, n_neg = int(labels.sum()), int((1 - labels).sum())
    if min(n_pos, n_neg) < folds:
        raise ValueError(f"need at least {folds} images of each class, got {n_pos} positive, {n_neg} negative")
    if not 0.0 < recall_target <= 1.0:
        raise ValueError(f"recall_target must be in (0, 1], got {recall_target}")

    def make(c: float) -> Any:
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=seed),
        )

    splits = list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
                  .split(vectors, labels, groups))
    grid = [float(C)] if np.isscalar(C) else [float(c) for c in C]
    if not grid or min(grid) <= 0:
        raise ValueError(f"C must be positive, got {C}")
    runs: dict[float, tuple[np.ndarray, list[float]]] = {}
    for c in grid:
        oof = np.zeros(len(labels), dtype=float)
        fold_auc: list[float] = []
        for train_idx, valid_idx in splits:
            model = make(c).fit(vectors[train_idx], labels[train_idx])
            oof[valid_idx] = model.predict_proba(vectors[valid_idx])[:, 1]
            if len(np.unique(labels[valid_idx])) == 2:
                fold_auc.append(float(roc_auc_score(labels[valid_idx], oof[valid_idx])))
        runs[c] = (oof, fold_auc)
    auc_by_c = {c: float(roc_auc_score(labels, runs[c][0])) for c in grid}
    best_c = max(grid, key=lambda c: (auc_by_c[c], -c))
    oof, fold_auc = runs[best_c]
    threshold, recall, precision = threshold_for_recall(oof, labels, recall_target)
    metrics = {
        "n": int(len(labels)),
        "positives": n_pos,
        "folds": int(folds),
        "C": best_c,
        "cv_roc_auc_by_C": {str(c): auc_by_c[c] for c in grid},
        "cv_roc_auc": auc_by_c[best_c],
        "cv_roc_auc_fold_mean": float(np.mean(fold_auc)) if fold_auc else float("nan"),
        "cv_roc_auc_fold_std": float(np.std(fold_auc)) if fold_auc else float("nan"),
        "recall_target": float(recall_target),
        "threshold": threshold,
        "cv_recall": recall,
        "cv_precision": precision,
        "cv_blocked_share": float((oof >= threshold).mean()),
    }
    final = make(best_c).fit(vectors, labels)
    return VisualClassifier(final, threshold, int(vectors.shape[1]), metrics), metrics


# ------------------------------------------------------------------------- CLI helper
def legal_check_lines(lines: Iterable[str], rule: TextRule | None = None) -> Iterator[str]:
    """One output line per input line: ``blocked\\t<rule>:<word,word>`` or ``allowed``."""
    rule = rule if rule is not None else load_text_rule()
    for line in lines:
        verdict = rule.check(line.rstrip("\r\n"))
        if verdict.blocked:
            yield f"blocked\t{verdict.rule}:{','.join(verdict.words)}"
        else:
            yield "allowed"
