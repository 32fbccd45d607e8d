"""`imagesearch score`: how well a text describes one image file, in [0, 1].

Unlike search, the image here is not in the catalog: it is embedded on the spot with the image
encoder that embedded the catalog (rebuilt from ``manifest["image_encoder"]``, and refused if its
fingerprint differs, since another encoder's vectors would be meaningless to the model). The
legal rules apply on both sides: a text the rule flags, a photo the pipeline blocked (found by
its content hash, whatever the file is called) or a new photo the visual classifier flags gets the
disclaimer and no score.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from imagesearch.legal.policy import VISUAL_CLASSIFIER_FILE, LegalPolicy
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.serving.searcher import MAX_QUERY_CHARS

log = logging.getLogger(__name__)


class ScoreInputError(ValueError):
    """The image file or the text cannot be scored; the message names the file or the limit."""


class IndexLoadError(RuntimeError):
    """The index folder lacks something the scorer needs, or was built with another encoder."""


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
    """Scores (image file, text) pairs with the index's model, under the legal rules."""

    def __init__(self, model: RelevanceModel, text_encoder: Any, image_encoder: Any,
                 policy: LegalPolicy) -> None:
        if policy.visual is None:
            raise IndexLoadError("scoring photos outside the catalog needs the visual classifier")
        self.model = model
        self.text_encoder = text_encoder
        self.image_encoder = image_encoder
        self.policy = policy

    @classmethod
    def load(cls, folder: str | Path) -> "ImageScorer":
        """Load everything from an index folder written by :func:`imagesearch.serving.index.build_index`."""
        from imagesearch.embedding.encoders.image import build_image_encoder
        from imagesearch.serving.searcher import load_query_encoder

        folder = Path(folder)
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise IndexLoadError(f"{folder}: no manifest.json; build the index first (dvc repro index)")
        manifest = json.loads(manifest_path.read_text())
        classifier_path = folder / VISUAL_CLASSIFIER_FILE
        if not classifier_path.is_file():
            raise IndexLoadError(f"{folder}: no {VISUAL_CLASSIFIER_FILE}; rebuild the index (dvc repro index)")
        return cls(
            model=RelevanceModel.load(folder / "model"),
            text_encoder=load_query_encoder(folder),
            image_encoder=_image_encoder(manifest.get("image_encoder") or {}, build_image_encoder),
            policy=LegalPolicy.load(folder),
        )

    def score(self, image_path: str | Path, text: str) -> ScoreResult:
        """Score ``text`` against the image at ``image_path``.

        Raises ScoreInputError for an unreadable image or an empty / too long text.
        """
        text = " ".join(str(text).split())
        if not text:
            raise ScoreInputError("the text is empty")
        if len(text) > MAX_QUERY_CHARS:
            raise ScoreInputError(f"the text is longer than {MAX_QUERY_CHARS} characters")
        image = open_image(image_path)  # before the text check: a bad file is an error either way
        verdict = self.policy.check_text(text)
        if verdict.blocked:
            return ScoreResult(None, self.policy.disclaimer, "text")
        vectors: list[np.ndarray] = []

        def vector() -> np.ndarray:
            vectors.append(self.image_encoder.encode([image]))
            return vectors[-1]

        if self.policy.check_photo(image_path, vector).blocked:
            return ScoreResult(None, self.policy.disclaimer, "image")
        image_vector = vectors[-1] if vectors else self.image_encoder.encode([image])
        text_vector = self.text_encoder.encode([text])
        return ScoreResult(float(self.model.score(image_vector, text_vector)[0]), notice=self.policy.message(verdict))


def _image_encoder(described: dict, build: Any) -> Any:
    """Rebuild the catalog's image encoder from its stored description; refuse a different one."""
    if not described.get("name"):
        raise IndexLoadError("the index manifest does not record the image encoder; rebuild the index")
    encoder = build({"encoder": described["name"], "options": described.get("options") or {},
                     "batch_size": 1})
    stored = described.get("fingerprint")
    if stored and encoder.fingerprint() != stored:
        raise IndexLoadError(
            f"the {described['name']} image encoder here differs from the one that embedded the "
            "catalog (package or weights changed); re-run embed_images and the stages after it")
    return encoder
