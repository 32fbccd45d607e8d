"""The ``tfhub`` image backend: a TF-Hub image feature-vector model."""
from __future__ import annotations

from typing import Any

import numpy as np

from imagesearch.embedding.encoders.image_base import ImageEncoder
from imagesearch.embedding.encoders.registry import IMAGE_ENCODERS
from imagesearch.embedding.encoders.tfhub import call_tfhub, load_tfhub, tfhub_identity


@IMAGE_ENCODERS.register("tfhub")
class TFHubImage(ImageEncoder):
    """A TF-Hub image feature-vector model (URL or local SavedModel folder).

    Options: ``handle`` (required), ``image_size`` (crop, default 224), ``resize`` (short side,
    default image_size * 256 / 224), ``output_key`` (for models that return a dict).
    Input follows the TF-Hub image convention: float32 RGB in [0, 1], ``(n, h, w, 3)``.
    """

    def __init__(self, options=None, batch_size: int = 32, decode_workers: int | None = None):
        super().__init__(options, batch_size, decode_workers)
        if not self.options.get("handle"):
            raise ValueError("the tfhub image encoder needs options.handle (URL or folder)")
        self.crop_size = int(self.options.get("image_size", 224))
        self.resize_size = int(self.options.get("resize", round(self.crop_size * 256 / 224)))
        self._dim: int | None = None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "handle_id": tfhub_identity(self.options["handle"])}

    def _load_model(self) -> Any:
        return load_tfhub(self.options["handle"])

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        x = tf.convert_to_tensor(batch.astype(np.float32) / 255.0)
        return call_tfhub(self.model, x, self.options.get("output_key"))

    @property
    def dim(self) -> int:
        if self._dim is None:
            probe = np.zeros((1, self.crop_size, self.crop_size, 3), dtype=np.uint8)
            self._dim = int(self._embed(probe).shape[1])
        return self._dim
