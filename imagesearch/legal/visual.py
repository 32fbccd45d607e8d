"""The visual classifier: the image rule for photos no caption describes (new uploads).

A standardised logistic regression on image vectors, trained on caption-derived labels, with the
threshold that keeps the wanted recall on validation folds.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.legal.rules import ALLOWED, Verdict

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

    name = "visual"

    def check_vectors(self, vectors: np.ndarray) -> list[Verdict]:
        """The image-rule interface: one verdict per row, the probability as evidence."""
        return [Verdict(True, self.name, (f"p={p:.3f}",)) if p >= self.threshold else ALLOWED
                for p in self.predict_proba(vectors)]

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


@dataclass
class SavedVisualClassifier:
    """A classifier file read on its first check: unpickling it imports scikit-learn, which a
    request that needs no classifier (a refused text, a photo the pipeline judged) never pays."""

    path: Path

    @cached_property
    def loaded(self) -> VisualClassifier:
        return VisualClassifier.load(self.path)

    def check_vectors(self, vectors: np.ndarray) -> list[Verdict]:
        return self.loaded.check_vectors(vectors)


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
