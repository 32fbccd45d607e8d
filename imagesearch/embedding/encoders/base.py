"""The encoder interface that every image and text backend implements.

Every encoder maps items to an ``(n, d)`` float32 array whose rows have unit L2 norm, so a dot
product is a cosine similarity. Encoders are built from their params section
(``{"encoder": name, "batch_size": int, "options": {...}}``) and load their model lazily, on the
first ``encode``: building one is cheap, which lets a stage compute the cache key and skip the model
entirely when every vector is already cached. Rows are normalised by
:func:`imagesearch.embedding.vectors.l2_normalise`; files are hashed by :mod:`imagesearch.hashing`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


class Encoder:
    """Common part of image and text encoders.

    Subclasses set ``name`` (via the registry), implement ``dim``, :meth:`_load_model` and the
    batch encoding, and may extend :meth:`identity` with anything else that changes the vectors
    (a weights file's hash, fitted state).
    """

    name: str = ""
    kind: str = ""  # "image" or "text", for messages
    #: Bump when a backend's preprocessing changes, so cached vectors are not reused.
    #: 2: float64 compute and the output grid of ``stable_unit_rows`` (same bytes on any CPU).
    version: int = 2

    def __init__(self, options: Mapping[str, Any] | None = None, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.options: dict[str, Any] = dict(options or {})
        self.batch_size = int(batch_size)
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The backend's model, loaded on first use (building an encoder loads nothing)."""
        if self._model is None:
            log.info("loading %s encoder %s", self.kind, self.name)
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """Everything that determines the vectors (not the batch size or thread counts)."""
        return {"name": self.name, "version": self.version, "options": self.options}

    def fingerprint(self) -> str:
        """A stable hash of :meth:`identity`: the cache key part that names the encoder."""
        payload = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """What gets stored next to the vectors (``VectorSet.encoder``)."""
        return {
            "name": self.name,
            "dim": self.dim,
            "options": self.options,
            "fingerprint": self.fingerprint(),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, options={self.options!r})"

