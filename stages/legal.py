"""DVC stage legal: block child-describing texts and the images they describe, keep allowed pairs.

Writes data/legal/* (allowed pairs, blocked images and queries, the visual classifier, the cross-lingual word rule),
metrics/legal.json and metrics/legal_blocked.csv (ids and fired words only, never caption text).
"""
import logging

import pandas as pd

from imagesearch import paths
from imagesearch.atomic import atomic_path, write_csv, write_json, write_parquet
from imagesearch.data.translations import read_translations
from imagesearch.embedding.vectors import load_vectors
from imagesearch.legal.apply import apply_legal_rules
from imagesearch.legal.hand_labels import load_hand_labels
from imagesearch.params import LegalParams
from imagesearch.stage import run


def main(params: LegalParams) -> None:
    hand_labels = load_hand_labels()  # a missing file is an error naming it, before any work
    queries = pd.read_parquet(paths.TEST_QUERIES)
    translations = read_translations(paths.RUSSIAN_QUERIES, queries["query_id"])
    result = apply_legal_rules(
        pd.read_parquet(paths.LABELLED_PAIRS), pd.read_parquet(paths.CAPTIONS), queries,
        pd.read_parquet(paths.IMAGES), load_vectors(paths.IMAGE_VECTORS), hand_labels, params,
        translations=translations)
    with atomic_path(paths.VISUAL_CLASSIFIER) as tmp:
        result.classifier.save(tmp)
    with atomic_path(paths.CROSSLINGUAL_RULE) as tmp:
        result.crosslingual.save(tmp)
    write_parquet(paths.ALLOWED_PAIRS, result.allowed_pairs)
    write_parquet(paths.BLOCKED_IMAGES, result.blocked_images)
    write_parquet(paths.BLOCKED_QUERIES, result.blocked_queries)
    write_csv(paths.LEGAL_BLOCKED, result.audit_listing)
    write_json(paths.LEGAL_METRICS, result.metrics)
    metrics = result.metrics
    logging.info("blocked %d texts, %d images; %d of %d pairs allowed", metrics["texts"]["blocked"],
                 metrics["images"]["blocked"], metrics["pairs"]["allowed"], metrics["pairs"]["total"])


if __name__ == "__main__":
    run("legal", main)
