"""The ``concat`` image backend: several image encoders side by side.

Registered in :data:`~imagesearch.embedding.encoders.registry.IMAGE_ENCODERS`; its parts are
built through that table, so they are whatever backends the catalog (``image.py``) registered.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from imagesearch.embedding.encoders.image_base import ImageEncoder, ImageItem, as_item_list
from imagesearch.embedding.encoders.registry import IMAGE_ENCODERS
from imagesearch.embedding.vectors import stable_unit_rows


@IMAGE_ENCODERS.register("concat")
class ConcatImage(ImageEncoder):
    """Several image encoders side by side: each one's unit vector, concatenated, re-normalised.

    Every part weighs the same in a cosine (each contributes ``1/len(parts)`` of the squared
    norm). Options: ``encoders``, a list of params sections (``{"encoder": ..., "options": ...}``;
    ``batch_size`` defaults to this encoder's), e.g. EfficientNet-Lite1 next to Lite2. Each part
    decodes the images itself, with its own crop: simple, at ~4 ms of decoding per image and part.
    """

    def __init__(self, options=None, batch_size: int = 32, decode_workers: int | None = None):
        super().__init__(options, batch_size, decode_workers)
        sections = self.options.get("encoders")
        if not isinstance(sections, list) or len(sections) < 2:
            raise ValueError("the concat image encoder needs options.encoders: a list of two or more "
                             "encoder params sections")
        self.parts: list[ImageEncoder] = []
        for section in sections:
            if not isinstance(section, dict) or section.get("encoder") == self.name:
                raise ValueError(f"concat: each part is an encoder params section other than concat, "
                                 f"got {section!r}")
            self.parts.append(IMAGE_ENCODERS.build({"batch_size": batch_size, **section}))

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "parts": [p.identity() for p in self.parts]}

    @property
    def dim(self) -> int:
        return sum(part.dim for part in self.parts)

    def encode(self, items: ImageItem | Sequence[ImageItem], batch_size: int | None = None,
               progress: bool = False) -> np.ndarray:
        items = as_item_list(items)
        vectors = [part.encode(items, batch_size, progress) for part in self.parts]
        return stable_unit_rows(np.hstack(vectors))
