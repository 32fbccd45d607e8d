"""`imagesearch score`: how well a text describes one image file, in [0, 1].

A photo of the catalog (the same bytes: found by its sha256 in the index's catalog, whatever the
file is called) is not embedded: its image side is in the index, and its score is the one search
gives it. Any other photo (in the full install only: torch, scikit-learn) is embedded on the spot,
alone, with the image encoder that embedded the catalog (rebuilt from ``manifest["image_encoder"]``
on first need, and refused if its fingerprint differs, since another encoder's vectors would be
meaningless to the model), computing in float32
(``SCORE_PRECISION``) where the pipeline used float64 for byte-stable files. One image is small work:
BLAS, ONNX Runtime and torch run it on ``threads`` threads (1), because on a busy machine their
worker threads spin against the other processes instead of helping. The legal rules apply on both
sides, before anything is embedded where they can: a text the rule flags, a photo the pipeline
blocked (by its content hash) or a new photo the visual classifier flags gets the disclaimer and
no score.
"""
from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from imagesearch.hashing import hash_file
from imagesearch.legal.policy import VISUAL_CLASSIFIER_FILE, LegalPolicy
from imagesearch.serving.limits import MAX_QUERY_CHARS

if TYPE_CHECKING:
    from imagesearch.serving.searcher import Searcher

log = logging.getLogger(__name__)

SCORE_THREADS = 1  # threads for one image's work (BLAS, ONNX Runtime, torch)
# A new photo's compute precision. float32 is ~3x faster on one image and its scores matched
# float64's in every pair measured (docs/performance.md); its vectors are not byte-stable across
# CPUs, which matters for the pipeline's stored vectors, not for one score.
SCORE_PRECISION = "float32"


class ScoreInputError(ValueError):
    """The image file or the text cannot be scored; the message names the file or the limit."""


class IndexLoadError(RuntimeError):
    """The index folder lacks something the scorer needs, or was built with another encoder."""


class PipelineInstallError(RuntimeError):
    """A photo outside the catalog needs the image encoder (torch) and the visual classifier
    (scikit-learn), which the serve install (requirements-serve.txt) leaves out."""


@contextlib.contextmanager
def _needs_pipeline_install(image_path: str | Path) -> Iterator[None]:
    try:
        yield
    except ModuleNotFoundError as err:
        raise PipelineInstallError(
            f"{image_path}: not a photo of the catalog; scoring it embeds it with torch and judges it "
            f"with scikit-learn, which this install lacks (no module {err.name!r}): install "
            "requirements.txt (the pipeline's) to score new photos") from err


@dataclass(frozen=True)
class ScoreResult:
    """``score`` in [0, 1], or ``disclaimer`` set (and ``score`` None) when a legal rule fired.

    ``blocked_by`` says which rule fired: "text" or "image" (None when allowed); ``notice`` is the
    legal policy's notice for a text in a language no list covers, scored under ``notice``.
    """

    score: float | None
    disclaimer: str | None = None
    blocked_by: str | None = None
    notice: str | None = None


def open_image(path: str | Path) -> Image.Image:
    """Fully decode ``path`` as RGB, or raise ScoreInputError naming the file and the reason."""
    path = Path(path)
    if not path.is_file():
        raise ScoreInputError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise ScoreInputError(f"{path}: not a readable image ({err})") from err


class ImageScorer:
    """Scores (image file, text) pairs with the index's model, under the legal rules.

    The legal policy loads first and the searcher (model, query encoder, image side) only when a
    request passes it: a refused text or photo costs neither."""

    def __init__(self, folder: Path, policy: LegalPolicy, image_encoder: dict, threads: int = SCORE_THREADS,
                 precision: str | None = SCORE_PRECISION) -> None:
        """``image_encoder``: the manifest's description of the catalog's image encoder, built only
        when a photo outside the catalog comes; ``precision``: its compute precision for that photo
        (None: the catalog's own)."""
        if policy.visual is None:
            raise IndexLoadError("scoring photos outside the catalog needs the visual classifier")
        if not image_encoder.get("name"):
            raise IndexLoadError("the index manifest does not record the image encoder; rebuild the index")
        self.folder = folder
        self.policy = policy
        self.described = image_encoder
        self.threads = threads
        self.precision = precision
        self._encoder: Any = None

    @classmethod
    def load(cls, folder: str | Path, threads: int = SCORE_THREADS,
             precision: str | None = SCORE_PRECISION) -> "ImageScorer":
        """The scorer of an index folder written by :func:`imagesearch.serving.index.build_index`."""
        folder = Path(folder)
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise IndexLoadError(f"{folder}: no manifest.json; build the index first (dvc repro index)")
        manifest = json.loads(manifest_path.read_text())
        if not (folder / VISUAL_CLASSIFIER_FILE).is_file():
            raise IndexLoadError(f"{folder}: no {VISUAL_CLASSIFIER_FILE}; rebuild the index (dvc repro index)")
        return cls(folder, LegalPolicy.load(folder), manifest.get("image_encoder") or {}, threads, precision)

    @cached_property
    def searcher(self) -> Searcher:
        """The index loaded for search, with this scorer's policy."""
        from imagesearch.serving.searcher import Searcher

        return Searcher.load(self.folder, threads=self.threads, policy=self.policy, digests=True)

    def score(self, image_path: str | Path, text: str) -> ScoreResult:
        """Score ``text`` against the image at ``image_path``.

        Raises ScoreInputError for an unreadable image or an empty / too long text.
        """
        from threadpoolctl import threadpool_limits

        text = " ".join(str(text).split())
        if not text:
            raise ScoreInputError("the text is empty")
        if len(text) > MAX_QUERY_CHARS:
            raise ScoreInputError(f"the text is longer than {MAX_QUERY_CHARS} characters")
        image = open_image(image_path)  # before the text check: a bad file is an error either way
        verdict = self.policy.check_text(text)
        if verdict.blocked:
            return ScoreResult(None, self.policy.disclaimer, "text")
        digest = hash_file(image_path)
        vectors: list[np.ndarray] = []

        def vector() -> np.ndarray:
            vectors.append(self.embed(image))
            return vectors[-1]

        with threadpool_limits(self.threads):
            with _needs_pipeline_install(image_path):  # a catalog photo's verdict needs neither
                blocked = self.policy.check_photo(image_path, vector, digest).blocked
            if blocked:
                return ScoreResult(None, self.policy.disclaimer, "image")
            text_vector = self.searcher.text_encoder.encode([text])
            row = self.searcher.digest_rows.get(digest)
            if row is not None:
                score = self.searcher.score_rows(np.array([row]), text_vector)[0, 0]
            else:
                with _needs_pipeline_install(image_path):
                    image_vector = vectors[-1] if vectors else self.embed(image)
                score = self.searcher.model.score(image_vector, text_vector)[0]
            return ScoreResult(float(score), notice=self.policy.message(verdict))

    def embed(self, image: Image.Image) -> np.ndarray:
        """One photo's vector (1, d) from the catalog's image encoder, on ``threads`` torch threads."""
        if self._encoder is None:
            from imagesearch.embedding.encoders.image import build_image_encoder

            limit_torch_threads(self.threads)
            self._encoder = _image_encoder(self.described, build_image_encoder, self.precision)
        return self._encoder.encode([image])


def limit_torch_threads(threads: int) -> None:
    """Cap torch's intra-op (and, before its first parallel work, inter-op) threads.

    Process-wide: call it in a process that embeds single images (the CLI), not in one that also
    embeds batches."""
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # refused once torch has started parallel work
        torch.set_num_interop_threads(threads)


def _image_encoder(described: dict, build: Any, precision: str | None = None) -> Any:
    """Rebuild the catalog's image encoder from its stored description; refuse a different one.
    ``precision``: compute in it instead, where the encoder has that option (torch CNNs)."""
    options = described.get("options") or {}
    encoder = build({"encoder": described["name"], "options": options, "batch_size": 1})
    stored = described.get("fingerprint")
    if stored and encoder.fingerprint() != stored:
        raise IndexLoadError(
            f"the {described['name']} image encoder here differs from the one that embedded the "
            "catalog (package or weights changed); re-run embed_images and the stages after it")
    if precision in getattr(encoder, "precisions", ()):
        return build({"encoder": described["name"], "options": {**options, "precision": precision},
                      "batch_size": 1})
    return encoder
