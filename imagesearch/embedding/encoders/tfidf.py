"""The ``tfidf`` text backend: TF-IDF + truncated SVD (LSA), fitted on the train captions."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.embedding.encoders.registry import TEXT_ENCODERS
from imagesearch.embedding.encoders.text_base import TextEncoder

log = logging.getLogger(__name__)


@TEXT_ENCODERS.register("tfidf")
class TfidfSVD(TextEncoder):
    """TF-IDF over the train captions, reduced by truncated SVD (LSA) to ``dim`` components.

    Options: ``dim`` (default 256), ``ngram_max`` (default 2), ``min_df`` (default 1),
    ``seed`` (default 0). Texts with no known word encode to the zero vector.
    """

    def __init__(self, options=None, batch_size: int = 64) -> None:
        super().__init__(options, batch_size)
        self._dim = int(self.options.get("dim", 256))
        if self._dim < 1:
            raise ValueError(f"tfidf dim must be >= 1, got {self._dim}")
        self.vectorizer: Any = None
        self.components: np.ndarray | None = None  # (dim, vocabulary)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def is_fitted(self) -> bool:
        return self.components is not None

    def _new_vectorizer(self, vocabulary: dict[str, int] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            lowercase=True, sublinear_tf=True, strip_accents="unicode",
            ngram_range=(1, int(self.options.get("ngram_max", 2))),
            min_df=int(self.options.get("min_df", 1)), vocabulary=vocabulary, dtype=np.float64,
        )

    def fit(self, texts: Sequence[str]) -> "TfidfSVD":
        from sklearn.decomposition import TruncatedSVD

        texts = [str(text) for text in texts]
        vectorizer = self._new_vectorizer()
        matrix = vectorizer.fit_transform(texts)
        limit = min(matrix.shape) - 1
        if self._dim > limit:
            raise ValueError(
                f"tfidf dim {self._dim} too large for {matrix.shape[0]} texts and "
                f"{matrix.shape[1]} terms; use dim <= {limit}"
            )
        svd = TruncatedSVD(self._dim, algorithm="randomized", n_iter=7,
                           random_state=int(self.options.get("seed", 0)))
        svd.fit(matrix)
        self.vectorizer = vectorizer
        self.components = svd.components_.astype(np.float32)
        log.info("tfidf fitted: %d texts, %d terms, %d components", len(texts),
                 matrix.shape[1], self._dim)
        return self

    def _state_hash(self) -> str | None:
        if not self.is_fitted:
            return None
        digest = hashlib.sha256(self.components.tobytes())
        digest.update(json.dumps(self.vectorizer.vocabulary_, sort_keys=True).encode())
        digest.update(np.asarray(self.vectorizer.idf_, dtype=np.float64).tobytes())
        return digest.hexdigest()

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "state_sha256": self._state_hash()}

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.vectorizer.transform(texts) @ self.components.T, dtype=np.float32)

    def _save_state(self, folder: Path) -> None:
        vocabulary = {term: int(i) for term, i in self.vectorizer.vocabulary_.items()}
        (folder / "vocabulary.json").write_text(json.dumps(vocabulary, sort_keys=True))
        np.save(folder / "idf.npy", np.asarray(self.vectorizer.idf_, dtype=np.float64))
        np.save(folder / "components.npy", self.components)

    def _load_state(self, folder: Path) -> None:
        vocabulary = json.loads((folder / "vocabulary.json").read_text())
        vectorizer = self._new_vectorizer(vocabulary)
        vectorizer._validate_vocabulary()  # sets vocabulary_ as fit would
        vectorizer.idf_ = np.load(folder / "idf.npy")
        self.vectorizer = vectorizer
        self.components = np.load(folder / "components.npy")
