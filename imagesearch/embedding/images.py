"""Embedding the clean image table, reusing cached vectors of unchanged images.

Reads ``data/clean/images.parquet`` under ``root``; writes ``data/features/images.npz`` (ids = image
file names). Vectors of images whose bytes and encoder are unchanged come from the
content-addressed cache in ``data/cache/embeddings`` (see :mod:`imagesearch.embedding.cache`).
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from imagesearch import paths
from imagesearch.embedding.cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, file_key
from imagesearch.embedding.encoders.image import build_image_encoder
from imagesearch.embedding.vectors import VectorSet, save_vectors

log = logging.getLogger(__name__)

IMAGES, OUTPUT = paths.IMAGES, paths.IMAGE_VECTORS
REQUIRED_COLUMNS = {"image", "path"}


def content_keys(table, paths: list[Path]) -> list[str]:
    """sha256 of each image's bytes: validate's ``sha256`` column when it is complete (it hashed
    the same files, and reading 130 MB again would dominate an incremental run), else hashed here.
    """
    if "sha256" in table.columns:
        column = [str(v).lower() for v in table["sha256"].fillna("")]
        if all(len(v) == 64 and all(c in "0123456789abcdef" for c in v) for v in column):
            return column
    return [file_key(p) for p in paths]


def embed_image_table(params: dict, root: Path = Path("."), cache_root: Path | None = None,
                      progress: bool = True) -> VectorSet:
    """Embed all images listed in ``root/data/clean/images.parquet`` and write the vector file.

    ``cache_root`` defaults to ``root/data/cache/embeddings``.
    """
    root = Path(root)
    encoder = build_image_encoder(params)  # cheap: the model loads only if something is missing
    table = pd.read_parquet(root / IMAGES)
    missing = REQUIRED_COLUMNS - set(table.columns)
    if missing:
        raise ValueError(f"{IMAGES} lacks columns {sorted(missing)}")
    paths = [root / p for p in table["path"]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} listed images are missing, e.g. {absent[:3]}")

    keys = content_keys(table, paths)
    cache = EmbeddingCache(cache_root or root / DEFAULT_ROOT, "image", encoder)
    vectors, hits = encode_cached(
        lambda items: encoder.encode(items, progress=progress), paths, keys, cache
    )
    result = VectorSet(ids=tuple(str(i) for i in table["image"]), vectors=vectors,
                       encoder=encoder.describe())
    save_vectors(root / OUTPUT, result)
    log.info("wrote %s: %d images x %d dims (%d cached)", OUTPUT, len(result.ids), result.dim, hits)
    return result
