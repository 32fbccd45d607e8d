"""The legal stage's work: the rules run over the whole dataset, what training may use, the audit.

The steps, each a function below: (1) the text rule over every caption and test query, and
the cross-lingual second line trained on the words it judged (:mod:`imagesearch.legal.crosslingual`);
(2) caption propagation blocks the images flagged captions describe; (3) the visual classifier,
trained on caption-described training images, decides the images no caption describes;
(4) the allowed training pairs; (5) the metrics and the audit listing. Serving asks the same rule
objects (:class:`~imagesearch.legal.policy.LegalPolicy`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from imagesearch.data.catalog import catalog_images
from imagesearch.embedding.vectors import VectorSet
from imagesearch.legal.crosslingual import CrosslingualWordRule, fit_crosslingual_rule
from imagesearch.legal.coverage import uncovered
from imagesearch.legal.hand_labels import binary_scores, scores_by_language, scores_by_set
from imagesearch.legal.policy import LegalPolicy
from imagesearch.legal.propagation import CaptionPropagation
from imagesearch.legal.rules import Verdict
from imagesearch.legal.text_rule import TextRule, flag_texts, listed_english_words, load_text_rule
from imagesearch.legal.visual import VisualClassifier, fit_visual_classifier
from imagesearch.params import LegalParams

log = logging.getLogger(__name__)


@dataclass
class Compliance:
    """What the legal stage writes: allowed pairs, blocked items, the classifier, the audit."""

    allowed_pairs: pd.DataFrame
    blocked_images: pd.DataFrame
    blocked_queries: pd.DataFrame
    audit_listing: pd.DataFrame
    classifier: VisualClassifier
    crosslingual: CrosslingualWordRule
    metrics: dict[str, Any]


# One thread (BLAS and OpenMP): the classifiers' fits, and so their thresholds, would otherwise
# move in the last bits with the thread count.
@threadpool_limits.wrap(limits=1)
def apply_legal_rules(pairs: pd.DataFrame, captions: pd.DataFrame, queries: pd.DataFrame,
                      images: pd.DataFrame, vector_set: VectorSet, hand_labels: pd.DataFrame,
                      params: LegalParams, rule: TextRule | None = None,
                      translations: pd.DataFrame | None = None) -> Compliance:
    """Apply the text rule, caption propagation and the visual classifier to the data.

    ``hand_labels`` (query_id, child) measures the text rule (:func:`~imagesearch.legal.hand_labels.load_hand_labels`);
    ``translations`` (query_id, query_ru: the hand-translated test queries) measure whether the
    rule gives a Russian query the verdict of its English original.
    """
    rule = rule if rule is not None else load_text_rule()
    images = images[["image", "split"]].drop_duplicates("image")
    flags = flag_all_texts(captions, queries, rule)
    flagged = flags[flags["blocked"]]
    log.info("text rule flags %d of %d captions/queries", len(flagged), len(flags))

    crosslingual = fit_crosslingual_rule(
        # words labelled by the reviewed English and Russian rules, as before the language lists
        judged_texts(captions, queries)["query_text"].astype(str), listed_english_words(),
        lambda word: rule.check_first_pass(word).blocked,
        recall=params.crosslingual_recall, folds=params.folds, seed=params.seed)
    crosslingual = replace(crosslingual, uncovered_language=params.uncovered_language)
    policy = LegalPolicy(rule, crosslingual=crosslingual, uncovered_language=params.uncovered_language)

    all_pairs = with_own_pairs(pairs, captions, queries)
    propagation = CaptionPropagation(params.expert_confirm_mean, params.crowd_confirm_share)
    by_caption = propagation.blocked_images(all_pairs, flags)
    covered = set(propagation.described(all_pairs)["image"])
    log.info("captions block %d images; %d of %d images are described by some caption",
             len(by_caption), len(covered & set(images["image"])), len(images))

    visual = run_visual_classifier(images, covered, set(by_caption["image"]), vector_set, params)
    split_of = images.set_index("image")["split"]
    blocked_images = blocked_image_frame(by_caption, visual.blocked_uncovered, split_of)
    all_blocked = set(blocked_images["image"])

    keep = (~pairs["query_id"].isin(flagged.index) & ~pairs["image"].isin(all_blocked)
            & ~pairs["query_image"].isin(all_blocked))
    allowed_pairs = pairs.loc[keep].reset_index(drop=True)
    blocked_queries = (flagged.reset_index()[["query_id", "rule", "words", "split"]]
                       .sort_values("query_id").reset_index(drop=True))

    metrics = {
        "texts": {
            "checked": int(len(flags)),
            "blocked": int(len(flagged)),
            "blocked_by_split": _counts(flagged["split"]),
            "by_rule": _counts(flagged["rule"]),
        },
        "images": {
            "total": int(len(images)),
            "described_by_captions": int(len(covered & set(images["image"]))),
            "blocked": int(len(blocked_images)),
            "blocked_by_split": _counts(blocked_images["split"]),
            "by_rule": _counts(blocked_images["rule"]),
        },
        "pairs": pair_metrics(pairs, keep, set(flagged.index), all_blocked),
        "test_queries": {
            "total": int(len(queries)),
            "blocked": int(queries["query_id"].isin(flagged.index).sum()),
            "allowed_with_allowed_image": int((~queries["query_id"].isin(flagged.index)
                                               & ~queries["image"].isin(all_blocked)).sum()),
        },
        "visual_classifier": visual.metrics,
        "text_rule_vs_hand_labels": scores_against_hand_labels(hand_labels, flags),
        "text_rule_by_language": scores_by_language(policy.check_text),
        "term_list_by_language": scores_by_language(rule.check),
        "language_sets": scores_by_set(policy.check_text, "eval"),
        "language_sets_dev": scores_by_set(policy.check_text, "dev"),
        "language_sets_dev2": scores_by_set(policy.check_text, "dev2"),
        "language_sets_dev3": scores_by_set(policy.check_text, "dev3"),
        "uncovered_language": {
            "policy": params.uncovered_language,
            "dataset_texts_uncovered": int(sum(uncovered(t) is not None
                                               for t in judged_texts(captions, queries)["query_text"])),
        },
        "crosslingual_rule": crosslingual.metrics,
    }
    if translations is not None:
        metrics["russian_test_queries"] = translation_agreement(translations, set(flagged.index), policy.check_text)
        metrics["uncovered_language"]["russian_test_queries_uncovered"] = int(
            sum(uncovered(t) is not None for t in translations["query_ru"]))
    return Compliance(allowed_pairs, blocked_images, blocked_queries,
                      audit_listing(blocked_queries, blocked_images), visual.classifier, crosslingual,
                      metrics)


# ------------------------------------------------------------------------- (1) texts
def flag_all_texts(captions: pd.DataFrame, queries: pd.DataFrame, rule: TextRule) -> pd.DataFrame:
    """One verdict per query_id over every train caption and test query, with its split."""
    texts = judged_texts(captions, queries)
    return flag_texts(texts["query_text"], rule).join(texts["split"])


def judged_texts(captions: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """Every train caption and test query once, indexed by query_id: query_text, split."""
    return pd.concat([
        captions[["query_id", "query_text", "split"]],
        queries[["query_id", "query_text"]].assign(split="test"),
    ]).drop_duplicates("query_id").set_index("query_id")


def translation_agreement(translations: pd.DataFrame, blocked_in_english: set[str],
                          check: Callable[[str], Verdict]) -> dict[str, Any]:
    """How the rule judges translated queries against their English originals' verdicts."""
    blocked = {qid for qid, text in zip(translations["query_id"], translations["query_ru"]) if check(text).blocked}
    english = blocked_in_english & set(translations["query_id"])
    missed, extra = sorted(english - blocked), sorted(blocked - english)
    if missed or extra:
        log.warning("Russian test queries: %d blocked only in English %s, %d only in Russian %s",
                    len(missed), missed[:10], len(extra), extra[:10])
    return {"total": int(len(translations)), "blocked_in_english": len(english),
            "blocked_in_russian": len(blocked), "blocked_in_both": len(english & blocked),
            "recall_of_english_blocks": round(len(english & blocked) / len(english), 4) if english else None,
            "blocked_only_in_english": missed, "blocked_only_in_russian": extra}


# ------------------------------------------------------------------------- (2) propagation
def with_own_pairs(pairs: pd.DataFrame, captions: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """The labelled pairs plus an "own" pair for captions missing from them and for test queries."""
    own_captions = captions.loc[~captions["query_id"].isin(pairs["query_id"]), ["query_id", "query_image"]]
    own_queries = queries[["query_id", "image"]].rename(columns={"image": "query_image"})
    own = pd.concat([own_captions, own_queries], ignore_index=True).assign(source="own")
    own["image"] = own["query_image"]
    return pd.concat([pairs, own], ignore_index=True)


# ------------------------------------------------------------------------- (3) visual classifier
@dataclass
class VisualStep:
    classifier: VisualClassifier
    blocked_uncovered: pd.DataFrame   # image, visual_proba, rule, words, via_query_id
    metrics: dict[str, Any]


def run_visual_classifier(images: pd.DataFrame, covered: set[str], blocked_by_captions: set[str],
                          vector_set: VectorSet, params: LegalParams) -> VisualStep:
    """Train on caption-described train images, decide the uncovered ones, check it on the catalog."""
    split_of = images.set_index("image")["split"]
    train_imgs = sorted(i for i in covered if split_of.get(i) == "train")
    labels = np.array([i in blocked_by_captions for i in train_imgs], dtype=int)
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
    test_imgs = list(catalog_images(images)["image"])
    test_covered = [i for i in test_imgs if i in covered]
    truth = [i in blocked_by_captions for i in test_covered]
    catalog_check = binary_scores(
        np.array(truth),
        classifier.predict_blocked(vector_set.take(test_covered)) if test_covered else np.zeros(0, bool))
    if 0 < catalog_check["positives"] < len(test_covered):
        from sklearn.metrics import roc_auc_score

        catalog_check["roc_auc"] = float(roc_auc_score(
            truth, classifier.predict_proba(vector_set.take(test_covered))))
    metrics = {"cv": cv, "test_catalog_without_captions": catalog_check,
               "uncovered_images": len(uncovered), "blocked_uncovered_images": int(len(by_vision))}
    return VisualStep(classifier, by_vision, metrics)


def blocked_image_frame(by_caption: pd.DataFrame, by_vision: pd.DataFrame, split_of: pd.Series) -> pd.DataFrame:
    """Every blocked image once: image, split, rule, words, via_query_id, visual_proba."""
    blocked = pd.concat([by_caption.assign(visual_proba=np.nan), by_vision], ignore_index=True)
    blocked = blocked[blocked["image"].isin(split_of.index)]
    blocked["split"] = blocked["image"].map(split_of)
    blocked = blocked[["image", "split", "rule", "words", "via_query_id", "visual_proba"]]
    return blocked.sort_values("image").reset_index(drop=True)


# ------------------------------------------------------------------------- (4), (5) pairs, metrics, audit
def pair_metrics(pairs: pd.DataFrame, keep: pd.Series, flagged: set[str], blocked: set[str]) -> dict[str, Any]:
    removed = pairs.loc[~keep]
    return {"total": int(len(pairs)), "allowed": int(keep.sum()), "removed": int(len(removed)),
            "removed_by_reason": {
                "flagged_caption": int(removed["query_id"].isin(flagged).sum()),
                "blocked_image": int(removed["image"].isin(blocked).sum()),
                "blocked_query_image": int(removed["query_image"].isin(blocked).sum()),
            }}


def scores_against_hand_labels(hand_labels: pd.DataFrame, flags: pd.DataFrame) -> dict[str, Any]:
    """The text rule's recall and precision on the hand-labelled texts it checked."""
    joined = hand_labels.set_index("query_id").join(flags["blocked"], how="inner")
    return binary_scores(joined["child"].to_numpy(), joined["blocked"].to_numpy())


def audit_listing(blocked_queries: pd.DataFrame, blocked_images: pd.DataFrame) -> pd.DataFrame:
    """kind, id, rule, words for every blocked query and image (metrics/legal_blocked.csv)."""
    return pd.concat([
        pd.DataFrame({"kind": "query", "id": blocked_queries["query_id"],
                      "rule": blocked_queries["rule"], "words": blocked_queries["words"]}),
        pd.DataFrame({"kind": "image", "id": blocked_images["image"],
                      "rule": blocked_images["rule"], "words": blocked_images["words"]}),
    ], ignore_index=True)


def _counts(values: pd.Series) -> dict[str, int]:
    return {k: int(v) for k, v in values.value_counts().items()}

