"""Random vectors with a planted image–text relation, for the model's unit tests.

Each image has a latent vector ``z``; its image embedding is a random linear view of ``z`` plus
noise, and its caption a different random view of the same ``z`` plus noise. Judged pairs link a
caption to other images with a target that grows with the latents' cosine, so a model that
recovers the relation ranks a caption's own image first far more often than chance.

``small_config`` is the model config the unit tests fit on that data: a train section validated by
the params schema, like params.yaml's, with small values.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imagesearch.embedding.vectors import VectorSet
from imagesearch.modeling.relevance import ModelConfig
from imagesearch.params import TrainParams

SMALL_XGB = {"n_estimators": 80, "learning_rate": 0.1, "max_depth": 3, "subsample": 0.9,
             "colsample_bytree": 1.0, "min_child_weight": 1.0, "early_stopping_rounds": 10}
SMALL_TRAIN = {
    "seed": 0, "folds": 3, "match_threshold": 3.0, "ridge_alpha": 1.0, "feature_folds": 3,
    "n_products": 4, "csls_k": 10, "knn_temperature": 0.05, "softmax_temperature": 0.02,
    "early_stopping_fraction": 0.3, "negatives_per_caption": 3, "monotone": True,
    "weights": {"expert": 1.0, "crowd": 1.0, "both": 1.0, "own": 1.0, "sampled": 1.0},
    "xgb": SMALL_XGB,
}


def small_config(**train: Any) -> ModelConfig:
    """``ModelConfig.from_params`` of ``SMALL_TRAIN`` with the given train keys replaced."""
    return ModelConfig.from_params(TrainParams.model_validate({**SMALL_TRAIN, **train}))


def planted(n_images: int = 120, n_test: int = 30, latent: int = 6, image_dim: int = 24,
            text_dim: int = 12, judged_per_caption: int = 6, noise: float = 0.3,
            seed: int = 0) -> tuple[pd.DataFrame, VectorSet, VectorSet, list[str], list[str]]:
    """Returns (pairs, image_set, text_set, test_images, test_query_ids).

    Train images are ``img{i}``, each with one caption ``img{i}#0``; test images ``test{i}`` with
    one query ``test{i}#0`` each.
    """
    rng = np.random.default_rng(seed)
    total = n_images + n_test
    z = rng.normal(size=(total, latent))
    to_image, to_text = rng.normal(size=(latent, image_dim)), rng.normal(size=(latent, text_dim))
    image_vectors = z @ to_image + noise * rng.normal(size=(total, image_dim))
    text_vectors = z @ to_text + noise * rng.normal(size=(total, text_dim))

    def unit(m: np.ndarray) -> np.ndarray:
        return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)

    names = [f"img{i}" for i in range(n_images)] + [f"test{i}" for i in range(n_test)]
    query_ids = [f"{name}#0" for name in names]
    image_set = VectorSet(tuple(names), unit(image_vectors))
    text_set = VectorSet(tuple(query_ids), unit(text_vectors))

    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    rows = []
    for t in range(n_images):
        rows.append(dict(image=names[t], query_id=query_ids[t], query_image=names[t], expert_mean=np.nan,
                         crowd_share=np.nan, n_votes=np.nan, source="own", target=1.0))
        others = rng.choice([i for i in range(n_images) if i != t], size=judged_per_caption, replace=False)
        for k, i in enumerate(others):
            relevance = float(np.clip((zn[t] @ zn[i] + 1) / 2, 0, 1)) ** 2
            expert = k % 2 == 0
            rows.append(dict(
                image=names[i], query_id=query_ids[t], query_image=names[t],
                expert_mean=1 + 3 * relevance if expert else np.nan,
                crowd_share=np.nan if expert else round(relevance * 3) / 3,
                n_votes=np.nan if expert else 3.0, source="expert" if expert else "crowd",
                target=relevance if expert else round(relevance * 3) / 3))
    return pd.DataFrame(rows), image_set, text_set, names[n_images:], query_ids[n_images:]
