"""The text side's base: :class:`TextEncoder` (strings -> L2-normalised float32 vectors) and
the saved-encoder folder.

The search service must encode a new query exactly as the pipeline encoded the captions, so a
text encoder is saved as a folder (``encoder.json`` + any fitted state) by the embed stage and
restored with :func:`~imagesearch.embedding.encoders.text.load_text_encoder`. ``fit(texts)``
learns state (tfidf) and is a no-op for pretrained backends. Each backend lives in its own module
and registers in :data:`~imagesearch.embedding.encoders.registry.TEXT_ENCODERS`; this module
imports none of them.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from imagesearch.embedding.encoders.base import Encoder
from imagesearch.embedding.vectors import stable_unit_rows

CONFIG_FILE = "encoder.json"
ONNX_DIR = "onnx"  # a torch-free copy of the encoder, where the backend has one


class TextEncoder(Encoder):
    """Base of text backends. Subclasses implement :meth:`_encode_batch` and :attr:`dim` (and
    :meth:`~imagesearch.embedding.encoders.base.Encoder._load_model` where they have a model)."""

    kind = "text"

    def __init__(self, options=None, batch_size: int = 64) -> None:
        super().__init__(options, batch_size)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    # -- fitted state ------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return True

    def fit(self, texts: Sequence[str]) -> "TextEncoder":
        """Learn state from ``texts`` (train captions only). Pretrained backends ignore this."""
        return self

    def _save_state(self, folder: Path) -> None:
        """Write fitted state into ``folder`` (nothing for pretrained backends)."""

    def _load_state(self, folder: Path) -> None:
        """Read what :meth:`_save_state` wrote."""

    def save(self, folder: str | Path) -> None:
        """Write ``encoder.json`` and the fitted state into ``folder`` (created if needed).

        For an atomic write, pass a path from ``imagesearch.atomic.atomic_path``.
        """
        if not self.is_fitted:
            raise RuntimeError(f"text encoder {self.name} must be fitted before it is saved")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"encoder": self.name, "batch_size": self.batch_size, "options": self.options,
                  "dim": self.dim, "fingerprint": self.fingerprint()}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        self._save_state(folder)

    # -- encoding ----------------------------------------------------------------------------
    def encode(
        self, texts: str | Sequence[str], batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        """Encode texts (one string is allowed) -> ``(n, dim)`` float32, L2-normalised rows, the
        same bytes on every CPU (:func:`~imagesearch.embedding.vectors.stable_unit_rows`)."""
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(text) for text in texts]
        if not self.is_fitted:
            raise RuntimeError(f"text encoder {self.name} is not fitted; call fit(train_texts)")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or self.batch_size
        out = []
        for start in tqdm(range(0, len(texts), batch_size), desc=f"embed texts ({self.name})",
                          unit="batch", disable=not progress):
            out.append(np.asarray(self._encode_batch(texts[start:start + batch_size])))
        return stable_unit_rows(np.concatenate(out))
