"""Embedding every caption and test query with a text encoder fitted on the train captions only.

Reads ``data/clean/captions.parquet`` under ``root``; writes ``data/features/texts.npz``
(ids = query_id) and the saved encoder in ``data/features/text_encoder/``, which search loads to
embed new queries the same way. Unchanged texts come from the embedding cache.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from imagesearch import paths
from imagesearch.atomic import atomic_path
from imagesearch.embedding.cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, text_key
from imagesearch.embedding.encoders.text import build_text_encoder
from imagesearch.embedding.vectors import VectorSet, save_vectors

log = logging.getLogger(__name__)

CAPTIONS, OUTPUT, ENCODER_DIR = paths.CAPTIONS, paths.TEXT_VECTORS, paths.TEXT_ENCODER
REQUIRED_COLUMNS = {"query_id", "query_text", "split"}


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
    vectors, hits = encode_cached(
        lambda items: encoder.encode(items, progress=progress), texts,
        [text_key(t) for t in texts], cache,
    )
    result = VectorSet(ids=tuple(str(i) for i in table["query_id"]), vectors=vectors,
                       encoder=encoder.describe())
    save_vectors(root / OUTPUT, result)
    with atomic_path(root / ENCODER_DIR) as tmp:
        encoder.save(tmp)
    log.info("wrote %s: %d texts x %d dims (%d cached), encoder in %s",
             OUTPUT, len(result.ids), result.dim, hits, ENCODER_DIR)
    return result
