"""The align_queries stage: the map that carries non-English queries into the model's text space.

Reads the train captions (``data/clean/captions.parquet``), their vectors of the pipeline's text
encoder (``data/features/texts.npz``, the teacher) and the hand translations of the train
captions and test queries (``data/translations/``); encodes them with the multilingual USE
(through the embedding cache); fits :class:`~imagesearch.embedding.query_alignment.QueryAligner`
on the train captions, each English caption and its Russian translation mapped onto the
caption's teacher vector (parallel data, as in multilingual distillation), grouped by image;
writes it with the Russian test queries' mapped vectors, which ``evaluate`` ranks like the
English ones. Test queries never shape the map.

The texts the cache lacks are encoded in chunks, here or, with ``IMAGESEARCH_SCHEDULER`` set, as
tasks on a Dask cluster (:func:`imagesearch.cluster.map_chunks`; USE loaded once per worker): USE
encodes one text per call, so a vector does not depend on the chunk it was in.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from imagesearch import paths
from imagesearch.cluster import chunk_slices, map_chunks, once_per_worker
from imagesearch.data.translations import read_translations
from imagesearch.embedding.cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, text_key
from imagesearch.embedding.encoders.text import build_text_encoder
from imagesearch.embedding.query_alignment import QueryAligner, is_english
from imagesearch.embedding.vectors import VectorSet, load_vectors, save_vectors

log = logging.getLogger(__name__)

STUDENT = {"encoder": "use", "batch_size": 64, "options": {}}
#: Texts per task (USE: ~1.4 ms a text here): a task outlasts its scheduling overhead.
TEXTS_PER_TASK = 256


def encode_on_worker(texts: list[str]) -> np.ndarray:
    """One task: texts -> their multilingual USE vectors (the model loaded once per process)."""
    encoder = once_per_worker(("text encoder", json.dumps(STUDENT, sort_keys=True)),
                              lambda: build_text_encoder(STUDENT))
    return encoder.encode(texts, progress=False)


def _encode_in_chunks(texts: list[str], root: Path) -> np.ndarray:
    chunks = [texts[part] for part in chunk_slices(len(texts), TEXTS_PER_TASK)]
    parts = map_chunks(encode_on_worker, chunks, desc="align queries (multilingual USE)", folder=root,
                       describe=lambda chunk: f"{len(chunk)} texts from {chunk[0]!r}")
    return np.concatenate(parts)


def _student_vectors(texts: list[str], root: Path, cache_root: Path | None) -> np.ndarray:
    encoder = build_text_encoder(STUDENT)
    cache = EmbeddingCache(cache_root or root / DEFAULT_ROOT, "text", encoder)
    vectors, hits = encode_cached(lambda items: _encode_in_chunks(items, root), texts,
                                  [text_key(t) for t in texts], cache)
    log.info("multilingual USE: %d texts (%d cached)", len(texts), hits)
    return vectors


def align_queries(folds: int, root: Path = Path("."), cache_root: Path | None = None) -> dict:
    """Fit and write the aligner and the mapped translations; return the stage's metrics."""
    root = Path(root)
    captions = pd.read_parquet(root / paths.CAPTIONS)
    teacher = load_vectors(root / paths.TEXT_VECTORS)
    train = captions.loc[captions["split"] == "train"].sort_values("query_id")
    queries = pd.read_parquet(root / paths.TEST_QUERIES)
    translations = read_translations(root / paths.RUSSIAN_QUERIES, queries["query_id"])
    train_russian = read_translations(root / paths.RUSSIAN_TRAIN_CAPTIONS, train["query_id"])
    train_russian = train.merge(train_russian, on="query_id")  # the same order as train

    # one USE run (one model load) for the fit's texts and the test translations
    texts = [str(t) for t in train["query_text"]] + list(train_russian["query_ru"])
    vectors = _student_vectors(texts + list(translations["query_ru"]), root, cache_root)
    source, test_source = vectors[:len(texts)], vectors[len(texts):]
    target = teacher.take(list(train["query_id"]) + list(train_russian["query_id"]))
    aligner = QueryAligner.fit(source, target, list(train["query_image"]) + list(train_russian["query_image"]),
                               train["query_text"].astype(str), folds)
    aligner.save(root / paths.QUERY_ALIGNER)

    russian = aligner.transform(test_source)
    save_vectors(root / paths.RUSSIAN_QUERY_VECTORS,
                 VectorSet(tuple(translations["query_id"]), russian,
                           {"name": "use->" + str(teacher.encoder.get("name")), "teacher": teacher.encoder}))
    english_routed = float(np.mean([is_english(t, aligner.vocabulary) for t in queries["query_text"]]))
    russian_routed = float(np.mean([not is_english(t, aligner.vocabulary) for t in translations["query_ru"]]))
    report = {**aligner.cv,
              "routing": {"english_test_queries_on_english_path": round(english_routed, 4),
                          "russian_test_queries_on_multilingual_path": round(russian_routed, 4)}}
    log.info("query map: %s", report)
    return report
