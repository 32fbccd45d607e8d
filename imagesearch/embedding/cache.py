"""A content-addressed cache of per-item vectors, so re-running an embed stage only embeds what is new.

Layout: ``<root>/<kind>/<encoder fingerprint>/shard-*.npz``, each shard holding ``keys`` (content
hashes: sha256 of an image's bytes, or of a text's UTF-8) and their ``vectors``. The encoder
fingerprint hashes the backend name, its options, its weights/fitted state and a preprocessing
version, so changing any of them starts a fresh folder instead of serving stale vectors.

Each run that embeds something adds one shard, written atomically; readers merge all shards, and
many small shards are compacted into one. The cache lives outside DVC's outputs (``data/cache/``,
gitignored), so DVC's deletion of a stage's outputs before a run does not wipe it. Delete the
folder at any time to reclaim space; the only cost is a cold run.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.atomic import atomic_path
from imagesearch.embedding.encoders.base import Encoder
from imagesearch.hashing import hash_file

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("data/cache/embeddings")
MAX_SHARDS = 16


def text_key(text: str) -> str:
    """Cache key of a text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_key(path: str | Path) -> str:
    """Cache key of a file (an image): sha256 of its bytes."""
    return hash_file(path)


class EmbeddingCache:
    """Vectors of one encoder, keyed by content hash."""

    def __init__(self, root: str | Path, kind: str, encoder: Encoder) -> None:
        self.folder = Path(root) / kind / encoder.fingerprint()
        self.dim = encoder.dim
        self._describe = encoder.describe()
        self._vectors: dict[str, np.ndarray] | None = None

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz"))

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            vectors: dict[str, np.ndarray] = {}
            for shard in self._shards():
                try:
                    with np.load(shard, allow_pickle=False) as data:
                        keys, rows = data["keys"], data["vectors"]
                except (OSError, ValueError, KeyError) as err:  # a damaged shard is only a miss
                    log.warning("ignoring unreadable cache shard %s: %s", shard, err)
                    continue
                if rows.ndim == 2 and rows.shape[1] == self.dim:
                    vectors.update(zip((str(k) for k in keys), rows))
            self._vectors = vectors
        return self._vectors

    def __len__(self) -> int:
        return len(self._load())

    def lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (misses are simply absent)."""
        cached = self._load()
        return {key: cached[key] for key in keys if key in cached}

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store new vectors as one atomically written shard; compact when shards pile up."""
        if len(keys) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "encoder.json"
        if not info.exists():
            with atomic_path(info) as tmp:
                tmp.write_text(json.dumps(self._describe, indent=2, sort_keys=True) + "\n")
        self._write_shard(list(keys), vectors)
        self._load().update(zip(keys, vectors))
        shards = self._shards()
        if len(shards) > MAX_SHARDS:
            everything = self._load()
            self._write_shard(list(everything), np.stack(list(everything.values())))
            for shard in shards:
                shard.unlink(missing_ok=True)

    def _write_shard(self, keys: list[str], vectors: np.ndarray) -> None:
        name = f"shard-{uuid.uuid4().hex}.npz"
        with atomic_path(self.folder / name) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, keys=np.asarray(keys, dtype=str), vectors=vectors)


def encode_cached(
    encode: Callable[[list[Any]], np.ndarray],
    items: Sequence[Any],
    keys: Sequence[str],
    cache: EmbeddingCache | None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``items`` (rows in input order), embedding only those missing from the cache.

    ``keys[i]`` is the content hash of ``items[i]``; items with equal keys are embedded once.
    Returns the vectors and how many items were served from the cache.
    """
    if len(items) != len(keys):
        raise ValueError(f"{len(items)} items but {len(keys)} keys")
    hits = cache.lookup(keys) if cache is not None else {}
    missing: dict[str, Any] = {}
    for key, item in zip(keys, items):
        if key not in hits and key not in missing:
            missing[key] = item
    if missing:
        fresh = encode(list(missing.values()))
        new = dict(zip(missing, fresh))
        if cache is not None:
            cache.add(list(missing), fresh)
    else:
        new = {}
    log.info("%d of %d items from the cache, %d embedded", sum(k in hits for k in keys),
             len(keys), len(missing))
    table = {**hits, **new}
    if not keys:
        return np.zeros((0, cache.dim if cache else 0), dtype=np.float32), 0
    vectors = np.stack([table[key] for key in keys]).astype(np.float32)
    return vectors, sum(key in hits for key in keys)
