"""Applying the legal rules to the whole dataset: what is blocked, what training may use, the audit.

The rules themselves (the text rule, caption-derived image blocks, the visual classifier) are in
:mod:`imagesearch.legal.text_rule`; this module runs them over captions, test queries, images and pairs and
counts what each rule removed, for ``metrics/legal.json`` and the audit listing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imagesearch.legal.text_rule import (
    VisualClassifier,
    blocked_images_from_captions,
    described_images,
    fit_visual_classifier,
    flag_texts,
    load_text_rule,
)
from imagesearch.params import LegalParams
from imagesearch.embedding.vectors import VectorSet

log = logging.getLogger(__name__)


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


@dataclass
class Compliance:
    """What the legal stage writes: allowed pairs, blocked items, the classifier, the audit."""

    allowed_pairs: pd.DataFrame
    blocked_images: pd.DataFrame
    blocked_queries: pd.DataFrame
    audit_listing: pd.DataFrame
    classifier: VisualClassifier
    metrics: dict[str, Any]


def apply_legal_rules(pairs: pd.DataFrame, captions: pd.DataFrame, queries: pd.DataFrame,
                      images: pd.DataFrame, vector_set: VectorSet, hand_labels: pd.DataFrame | None,
                      params: LegalParams) -> Compliance:
    """Apply the text rule, the caption-derived image blocks and the visual classifier to the data.

    ``hand_labels`` (query_id, child) measures the text rule when given.
    """
    rule = load_text_rule()
    images = images[["image", "split"]].drop_duplicates("image")

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
    if hand_labels is not None:
        joined = hand_labels.set_index("query_id").join(flags["blocked"], how="inner")
        labelled = _binary_scores(joined["child"].to_numpy(), joined["blocked"].to_numpy())
    else:
        log.warning("no hand labels: text rule precision/recall not measured")

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

    listing = pd.concat([
        pd.DataFrame({"kind": "query", "id": blocked_queries["query_id"],
                      "rule": blocked_queries["rule"], "words": blocked_queries["words"]}),
        pd.DataFrame({"kind": "image", "id": blocked_images["image"],
                      "rule": blocked_images["rule"], "words": blocked_images["words"]}),
    ], ignore_index=True)
    return Compliance(allowed_pairs, blocked_images, blocked_queries, listing, classifier, metrics)
