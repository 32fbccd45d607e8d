"""Embedding the clean image table, reusing cached vectors of unchanged images.

Reads ``data/clean/images.parquet`` under ``root``; writes ``data/features/images.npz`` (ids = image
file names). Vectors of images whose bytes and encoder are unchanged come from the
content-addressed cache in ``data/cache/embeddings`` (see :mod:`imagesearch.embedding.cache`).
The rest are embedded in this process or, with ``IMAGESEARCH_SCHEDULER`` set, on a Dask cluster
(:mod:`imagesearch.cluster`): the cache is consulted first, the missing images are cut into chunks
of whole encoder batches, and each worker loads the model once. The vectors are the same bytes
either way (the encoders' float64 compute and output grid make them independent of batching).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from imagesearch import paths
from imagesearch.cluster import cluster_client, map_in_order, once_per_worker
from imagesearch.embedding.cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, file_key
from imagesearch.embedding.encoders.image import build_image_encoder
from imagesearch.embedding.encoders.image_base import ImageEncoder
from imagesearch.embedding.vectors import VectorSet, save_vectors

log = logging.getLogger(__name__)

IMAGES, OUTPUT = paths.IMAGES, paths.IMAGE_VECTORS
REQUIRED_COLUMNS = {"image", "path"}
#: Encoder batches per cluster task: big enough that a task outlasts its scheduling overhead.
BATCHES_PER_TASK = 8


def encode_on_worker(task: tuple[str, list[str]]) -> np.ndarray:
    """One cluster task: (params as JSON, image paths) -> their vectors."""
    params_json, items = task
    encoder = once_per_worker(("image encoder", params_json), lambda: build_image_encoder(json.loads(params_json)))
    return encoder.encode(items)


def encode_on_cluster(client, params: dict, encoder: ImageEncoder, items: list[Path]) -> np.ndarray:
    """``encoder.encode(items)`` as tasks of whole batches on the cluster, rows in input order."""
    size = encoder.batch_size * BATCHES_PER_TASK
    params_json = json.dumps(params, sort_keys=True)
    # absolute paths: a worker of an existing cluster need not share this process's directory
    tasks = [(params_json, [str(Path(p).resolve()) for p in items[start:start + size]])
             for start in range(0, len(items), size)]
    parts = map_in_order(client, encode_on_worker, tasks, desc=f"embed images ({encoder.name}, cluster)",
                         describe=lambda task: f"{len(task[1])} images from {task[1][0]}")
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)


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

    def encode(items: list[Path]) -> np.ndarray:  # only the images the cache lacks: no cluster otherwise
        with cluster_client(root) as client:
            if client is None:
                return encoder.encode(items, progress=progress)
            return encode_on_cluster(client, params, encoder, items)

    vectors, hits = encode_cached(encode, paths, keys, cache)
    result = VectorSet(ids=tuple(str(i) for i in table["image"]), vectors=vectors,
                       encoder=encoder.describe())
    save_vectors(root / OUTPUT, result)
    log.info("wrote %s: %d images x %d dims (%d cached)", OUTPUT, len(result.ids), result.dim, hits)
    return result
