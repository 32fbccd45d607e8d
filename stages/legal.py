"""DVC stage legal: flag child-describing captions/queries, block the images they describe, learn a
visual classifier for images no caption describes, and keep only the allowed training pairs.

Reads params.yaml section ``legal`` (expert_confirm_mean, crowd_confirm_share, visual_recall,
folds, seed). Writes data/legal/*, metrics/legal.json and metrics/legal_blocked.csv (ids and fired
words only, never caption text).
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from imagesearch import paths
from imagesearch.atomic import atomic_path, write_csv, write_json, write_parquet
from imagesearch.legal import (
    blocked_images_from_captions,
    described_images,
    fit_visual_classifier,
    flag_texts,
    load_text_rule,
)
from imagesearch.params import LegalParams
from imagesearch.vectors import load_vectors

log = logging.getLogger("legal")

LEGAL_LABELS = Path("tests/fixtures/legal_labels.csv")  # hand labels (query_id, child)
BLOCKED_CSV = paths.METRICS / "legal_blocked.csv"


def read_params(root: Path) -> LegalParams:
    """The ``legal`` section of params.yaml, validated by its schema in imagesearch.params."""
    raw = yaml.safe_load((root / paths.PARAMS).read_text()) or {}
    if "legal" not in raw:
        raise KeyError(f"{root / paths.PARAMS}: no 'legal' section")
    return LegalParams.model_validate(raw["legal"])


def _binary_scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    tp = int((truth & predicted).sum())
    return {
        "n": int(len(truth)),
        "positives": int(truth.sum()),
        "predicted": int(predicted.sum()),
        "recall": tp / truth.sum() if truth.sum() else None,
        "precision": tp / predicted.sum() if predicted.sum() else None,
    }


def run(params: LegalParams, root: Path = Path(".")) -> dict[str, Any]:
    """Do the stage's work under ``root``; returns the metrics it wrote."""
    rule = load_text_rule()
    pairs = pd.read_parquet(root / paths.LABELLED_PAIRS)
    captions = pd.read_parquet(root / paths.CAPTIONS)
    queries = pd.read_parquet(root / paths.TEST_QUERIES)
    images = pd.read_parquet(root / paths.IMAGES)[["image", "split"]].drop_duplicates("image")
    vector_set = load_vectors(root / paths.IMAGE_VECTORS)

    # 1. texts: every train caption and every test query, one verdict per query_id
    texts = pd.concat([
        captions[["query_id", "query_text", "split"]],
        queries[["query_id", "query_text"]].assign(split="test"),
    ]).drop_duplicates("query_id").set_index("query_id")
    flags = flag_texts(texts["query_text"], rule).join(texts["split"])
    flagged = flags[flags["blocked"]]
    log.info("text rule flags %d of %d captions/queries", len(flagged), len(flags))

    # 2. images described by a flagged text: own image + annotator-confirmed images.
    #    Captions missing from pairs and test queries enter as their own image's "own" pair.
    own_captions = captions.loc[~captions["query_id"].isin(pairs["query_id"]), ["query_id", "query_image"]]
    own_queries = queries[["query_id", "image"]].rename(columns={"image": "query_image"})
    own = pd.concat([own_captions, own_queries], ignore_index=True).assign(source="own")
    own["image"] = own["query_image"]
    all_pairs = pd.concat([pairs, own], ignore_index=True)
    thresholds = (params.expert_confirm_mean, params.crowd_confirm_share)
    by_caption = blocked_images_from_captions(all_pairs, flags, *thresholds)
    covered = set(described_images(all_pairs, *thresholds)["image"])
    log.info("captions block %d images; %d of %d images are described by some caption",
             len(by_caption), len(covered & set(images["image"])), len(images))

    # 3. visual classifier: trained on caption-described train images, decides the rest
    split_of = images.set_index("image")["split"]
    train_imgs = sorted(i for i in covered if split_of.get(i) == "train")
    blocked_set = set(by_caption["image"])
    labels = np.array([i in blocked_set for i in train_imgs], dtype=int)
    classifier, cv = fit_visual_classifier(vector_set.take(train_imgs), labels, train_imgs,
                                           recall_target=params.visual_recall,
                                           folds=params.folds, seed=params.seed)
    log.info("visual classifier: CV ROC-AUC %.3f, threshold %.3f, recall %.3f, precision %.3f",
             cv["cv_roc_auc"], cv["threshold"], cv["cv_recall"], cv["cv_precision"])
    with atomic_path(root / paths.VISUAL_CLASSIFIER) as tmp:
        classifier.save(tmp)

    uncovered = sorted(set(images["image"]) - covered)
    proba = classifier.predict_proba(vector_set.take(uncovered)) if uncovered else np.zeros(0)
    by_vision = pd.DataFrame({"image": uncovered, "visual_proba": proba})
    by_vision = by_vision[by_vision["visual_proba"] >= classifier.threshold].assign(
        rule="visual", words="", via_query_id="")

    # the classifier on the test catalog as if its captions were missing
    test_imgs = sorted(images.loc[images["split"] == "test", "image"])
    test_covered = [i for i in test_imgs if i in covered]
    catalog_check = _binary_scores(
        np.array([i in blocked_set for i in test_covered]),
        classifier.predict_blocked(vector_set.take(test_covered)) if test_covered else np.zeros(0, bool))
    if 0 < catalog_check["positives"] < len(test_covered):
        from sklearn.metrics import roc_auc_score

        catalog_check["roc_auc"] = float(roc_auc_score(
            [i in blocked_set for i in test_covered], classifier.predict_proba(vector_set.take(test_covered))))

    blocked_images = pd.concat([by_caption.assign(visual_proba=np.nan), by_vision], ignore_index=True)
    blocked_images = blocked_images[blocked_images["image"].isin(split_of.index)]
    blocked_images["split"] = blocked_images["image"].map(split_of)
    blocked_images = blocked_images[["image", "split", "rule", "words", "via_query_id", "visual_proba"]]
    blocked_images = blocked_images.sort_values("image").reset_index(drop=True)
    all_blocked = set(blocked_images["image"])

    # 4. allowed training pairs: no flagged caption, no blocked image on either side
    keep = (~pairs["query_id"].isin(flagged.index) & ~pairs["image"].isin(all_blocked)
            & ~pairs["query_image"].isin(all_blocked))
    allowed_pairs = pairs.loc[keep].reset_index(drop=True)
    removed = pairs.loc[~keep]
    pair_reasons = {
        "flagged_caption": int(removed["query_id"].isin(flagged.index).sum()),
        "blocked_image": int(removed["image"].isin(all_blocked).sum()),
        "blocked_query_image": int(removed["query_image"].isin(all_blocked).sum()),
    }

    blocked_queries = (flagged.reset_index()[["query_id", "rule", "words", "split"]]
                       .sort_values("query_id").reset_index(drop=True))

    # 5. the text rule against the hand labels
    labelled: dict[str, Any] = {}
    if (root / LEGAL_LABELS).exists():
        hand = pd.read_csv(root / LEGAL_LABELS).set_index("query_id")
        joined = hand.join(flags["blocked"], how="inner")
        labelled = _binary_scores(joined["child"].to_numpy(), joined["blocked"].to_numpy())
    else:
        log.warning("no hand labels at %s: text rule precision/recall not measured", LEGAL_LABELS)

    metrics = {
        "texts": {
            "checked": int(len(flags)),
            "blocked": int(len(flagged)),
            "blocked_by_split": {k: int(v) for k, v in flagged["split"].value_counts().items()},
            "by_rule": {k: int(v) for k, v in flagged["rule"].value_counts().items()},
        },
        "images": {
            "total": int(len(images)),
            "described_by_captions": int(len(covered & set(images["image"]))),
            "blocked": int(len(blocked_images)),
            "blocked_by_split": {k: int(v) for k, v in blocked_images["split"].value_counts().items()},
            "by_rule": {k: int(v) for k, v in blocked_images["rule"].value_counts().items()},
        },
        "pairs": {"total": int(len(pairs)), "allowed": int(len(allowed_pairs)),
                  "removed": int(len(removed)), "removed_by_reason": pair_reasons},
        "test_queries": {
            "total": int(len(queries)),
            "blocked": int(queries["query_id"].isin(flagged.index).sum()),
            "allowed_with_allowed_image": int((~queries["query_id"].isin(flagged.index)
                                               & ~queries["image"].isin(all_blocked)).sum()),
        },
        "visual_classifier": {"cv": cv, "test_catalog_without_captions": catalog_check,
                              "uncovered_images": len(uncovered),
                              "blocked_uncovered_images": int(len(by_vision))},
        "text_rule_vs_hand_labels": labelled,
    }

    write_parquet(root / paths.ALLOWED_PAIRS, allowed_pairs)
    write_parquet(root / paths.BLOCKED_IMAGES, blocked_images)
    write_parquet(root / paths.BLOCKED_QUERIES, blocked_queries)
    write_csv(root / BLOCKED_CSV, pd.concat([
        pd.DataFrame({"kind": "query", "id": blocked_queries["query_id"],
                      "rule": blocked_queries["rule"], "words": blocked_queries["words"]}),
        pd.DataFrame({"kind": "image", "id": blocked_images["image"],
                      "rule": blocked_images["rule"], "words": blocked_images["words"]}),
    ], ignore_index=True))
    write_json(root / paths.LEGAL_METRICS, metrics)
    return metrics


def main(root: Path = Path(".")) -> None:
    """Entry point for ``python stages/legal.py``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s legal %(levelname)s %(message)s")
    metrics = run(read_params(root), root)
    log.info("blocked %d texts, %d images; %d of %d pairs allowed", metrics["texts"]["blocked"],
             metrics["images"]["blocked"], metrics["pairs"]["allowed"], metrics["pairs"]["total"])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
