"""The ``tfhub`` text backend: a TF-Hub text embedding model."""
from __future__ import annotations

from typing import Any

import numpy as np

from imagesearch.embedding.encoders.registry import TEXT_ENCODERS
from imagesearch.embedding.encoders.tfhub import call_tfhub, load_tfhub, tfhub_identity
from imagesearch.embedding.encoders.text_base import TextEncoder


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
