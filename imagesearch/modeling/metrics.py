"""Regression, classification, ranking and agreement metrics, each a small pure function."""
from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_squared_error, roc_auc_score


def ranks_of_gold(scores: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1-based rank of each query's gold column in its row of ``scores`` (ties count against it).

    ``scores``: (n_queries, n_images); ``gold``: (n_queries,) column index of the right image.
    """
    gold_scores = scores[np.arange(len(gold)), gold]
    return 1 + (scores > gold_scores[:, None]).sum(axis=1) + (
        (scores == gold_scores[:, None]).sum(axis=1) - 1)


def ranks_in_top_k(rows: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1-based rank of each query's gold row within its returned ``rows`` (n_queries, depth);
    a gold row not returned counts as depth + 1 (so recall@k for k <= depth is exact, and MRR
    is a lower bound by at most 1 / (depth + 1))."""
    hit = rows == np.asarray(gold)[:, None]
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, rows.shape[1] + 1)


def ranking_report(ranks: np.ndarray, ks: tuple[int, ...] = (1, 5, 10)) -> dict:
    """Recall@k, MRR and median rank from 1-based gold ranks."""
    ranks = np.asarray(ranks, dtype=float)
    if len(ranks) == 0:
        return {**{f"recall_at_{k}": None for k in ks}, "mrr": None, "median_rank": None, "n_queries": 0}
    report = {f"recall_at_{k}": float((ranks <= k).mean()) for k in ks}
    report.update(mrr=float((1.0 / ranks).mean()), median_rank=float(np.median(ranks)),
                  n_queries=int(len(ranks)))
    return report


def recall_curve(ranks: np.ndarray, max_k: int, others: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Recall@k for k = 1..max_k, as rows for a DVC plot: column ``full_model`` for ``ranks``, and
    one column per entry of ``others`` (the ablation's variants, overlaid in the same plot)."""
    columns = {"full_model": np.asarray(ranks), **{name: np.asarray(r) for name, r in (others or {}).items()}}
    return [{"k": k, **{name: float((r <= k).mean()) for name, r in columns.items()}}
            for k in range(1, max_k + 1)]


def regression_report(target: np.ndarray, predicted: np.ndarray) -> dict:
    return {"rmse": float(np.sqrt(mean_squared_error(target, predicted))),
            "mae": float(mean_absolute_error(target, predicted))}


def safe_roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC, or None where only one class is present."""
    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def kendall_tau(x: np.ndarray, y: np.ndarray, variant: str) -> float | None:
    """Kendall's tau (variant "b" or "c"), None on fewer than 3 points or a constant input."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return None
    return float(stats.kendalltau(x[keep], y[keep], variant=variant).statistic)


def curve_points(labels: np.ndarray, scores: np.ndarray, max_points: int = 200) -> tuple[list[dict], list[dict]]:
    """ROC and precision–recall curves as rows for DVC plots, thinned to ``max_points`` each."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)

    def thin(n: int) -> np.ndarray:
        return np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))

    roc = [{"fpr": float(fpr[i]), "tpr": float(tpr[i])} for i in thin(len(fpr))]
    pr = [{"recall": float(recall[i]), "precision": float(precision[i])} for i in thin(len(recall))]
    return roc, pr
