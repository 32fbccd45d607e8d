"""Image encoders by name: imports every image backend and builds one from its params section.

Import this (not a backend module) to build an encoder, so that every backend is registered:

>>> from imagesearch.embedding.encoders.image import build_image_encoder
>>> enc = build_image_encoder({"encoder": "efficientnet-lite0", "batch_size": 8})
>>> enc.encode(["a.jpg", "b.jpg"]).shape   # (2, 1280), float32, unit rows

The base class and input pipeline are in ``image_base.py``, the table in ``registry.py``. A new
backend: its own module registering in ``IMAGE_ENCODERS``, its name in ``names.py``, an import here.
"""
from __future__ import annotations

# every backend of this side; each registers itself on import
from imagesearch.embedding.encoders import concat, efficientnet, resnet, tfhub_image, vision_language  # noqa: F401
from imagesearch.embedding.encoders.image_base import ImageEncoder
from imagesearch.embedding.encoders.registry import IMAGE_ENCODERS


def build_image_encoder(params: dict) -> ImageEncoder:
    """An image encoder from its params section (``encoder``, ``batch_size``, ``options``)."""
    return IMAGE_ENCODERS.build(params)


def image_encoder_names() -> list[str]:
    """The registered image backends, sorted."""
    return list(IMAGE_ENCODERS)
