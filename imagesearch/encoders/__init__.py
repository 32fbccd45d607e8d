"""Image and text encoders behind one small interface, chosen by name from params.

>>> enc = build_image_encoder({"encoder": "efficientnet-lite0", "batch_size": 8})
>>> enc.encode(["a.jpg", "b.jpg"]).shape   # (2, 1280), float32, unit rows

Importing this package is cheap: torch, sentence-transformers and TensorFlow load only when a
backend first encodes.
"""
from imagesearch.encoders.base import Encoder, Registry, l2_normalize
from imagesearch.encoders.image import IMAGE_ENCODERS, ImageEncoder, build_image_encoder
from imagesearch.encoders.text import (
    TEXT_ENCODERS,
    TextEncoder,
    build_text_encoder,
    load_text_encoder,
)

__all__ = [
    "IMAGE_ENCODERS",
    "TEXT_ENCODERS",
    "Encoder",
    "ImageEncoder",
    "Registry",
    "TextEncoder",
    "build_image_encoder",
    "build_text_encoder",
    "l2_normalize",
    "load_text_encoder",
]
