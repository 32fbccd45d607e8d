"""Embedding every caption and test query with a text encoder fitted on the train captions only.

Reads ``data/clean/captions.parquet`` under ``root``; writes ``data/features/texts.npz``
(ids = query_id) and the saved encoder in ``data/features/text_encoder/``, which search loads to
embed new queries the same way. Unchanged texts come from the embedding cache; the rest are
embedded here or, with ``IMAGESEARCH_SCHEDULER`` set, on a Dask cluster: the fitted encoder is
saved first (into the temporary folder that becomes ``text_encoder/``), each worker loads it once,
and each task is a run of whole encoder batches, so the vectors are the bytes this process makes.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from imagesearch import paths
from imagesearch.atomic import atomic_path
from imagesearch.cluster import cluster_client, map_in_order, once_per_worker
from imagesearch.embedding.cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, text_key
from imagesearch.embedding.encoders.text import build_text_encoder, load_text_encoder
from imagesearch.embedding.encoders.text_base import TextEncoder
from imagesearch.embedding.vectors import VectorSet, save_vectors

log = logging.getLogger(__name__)

CAPTIONS, OUTPUT, ENCODER_DIR = paths.CAPTIONS, paths.TEXT_VECTORS, paths.TEXT_ENCODER
REQUIRED_COLUMNS = {"query_id", "query_text", "split"}
#: Encoder batches per cluster task (a MiniLM batch of 64 takes ~0.5 s here).
BATCHES_PER_TASK = 4


def encode_on_worker(task: tuple[str, list[str]]) -> np.ndarray:
    """One cluster task: (saved encoder folder, texts) -> their vectors."""
    folder, texts = task
    return once_per_worker(("text encoder", folder), lambda: load_text_encoder(folder)).encode(texts)


def encode_on_cluster(client, saved: Path, encoder: TextEncoder, texts: list[str]) -> np.ndarray:
    """``encoder.encode(texts)`` as tasks of whole batches on the cluster, rows in input order."""
    size = encoder.batch_size * BATCHES_PER_TASK
    tasks = [(str(saved.resolve()), texts[start:start + size]) for start in range(0, len(texts), size)]
    parts = map_in_order(client, encode_on_worker, tasks, desc=f"embed texts ({encoder.name}, cluster)",
                         describe=lambda task: f"{len(task[1])} texts from {task[1][0]!r}")
    return np.concatenate(parts)


def embed_text_table(params: dict, root: Path = Path("."), cache_root: Path | None = None,
                     progress: bool = True) -> VectorSet:
    """Fit on train captions, embed every text, write vectors and the saved encoder."""
    root = Path(root)
    encoder = build_text_encoder(params)
    table = pd.read_parquet(root / CAPTIONS)
    missing = REQUIRED_COLUMNS - set(table.columns)
    if missing:
        raise ValueError(f"{CAPTIONS} lacks columns {sorted(missing)}")
    texts = [str(t) for t in table["query_text"]]
    train = sorted(set(table.loc[table["split"] == "train", "query_text"].astype(str)))
    if not train:
        raise ValueError(f"{CAPTIONS} has no train captions to fit the text encoder on")
    encoder.fit(train)  # train captions only: test queries must not shape the encoder

    cache = EmbeddingCache(cache_root or root / DEFAULT_ROOT, "text", encoder)
    with atomic_path(root / ENCODER_DIR) as saved:
        encoder.save(saved)  # first: a cluster's workers load the fitted encoder from here

        def encode(items: list[str]) -> np.ndarray:  # only the texts the cache lacks: no cluster otherwise
            with cluster_client(root) as client:
                if client is None:
                    return encoder.encode(items, progress=progress)
                return encode_on_cluster(client, saved, encoder, items)

        vectors, hits = encode_cached(encode, texts, [text_key(t) for t in texts], cache)
        result = VectorSet(ids=tuple(str(i) for i in table["query_id"]), vectors=vectors,
                           encoder=encoder.describe())
        save_vectors(root / OUTPUT, result)
    log.info("wrote %s: %d texts x %d dims (%d cached), encoder in %s",
             OUTPUT, len(result.ids), result.dim, hits, ENCODER_DIR)
    return result
