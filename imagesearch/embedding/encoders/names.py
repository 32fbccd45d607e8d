"""Every encoder backend's name, in one place that imports nothing.

:mod:`imagesearch.params` checks ``embed_images.encoder`` / ``embed_texts.encoder`` against these
without importing any encoder code (so a stage that does not embed does not depend on it), and the
registries (:mod:`~imagesearch.embedding.encoders.registry`) refuse to register a backend that is
not listed here. A new backend adds its name here, in the same change that registers it.
"""
from __future__ import annotations

from collections.abc import Collection

IMAGE_ENCODER_NAMES = ("clip", "concat", "efficientnet-lite0", "efficientnet-lite1",
                       "efficientnet-lite2", "resnet18", "resnet50", "siglip", "tfhub")
TEXT_ENCODER_NAMES = ("minilm", "tfidf", "use", "tfhub", "clip", "siglip")
ENCODER_NAMES = {"image": IMAGE_ENCODER_NAMES, "text": TEXT_ENCODER_NAMES}


def unknown_encoder(kind: str, name: object, known: Collection[str]) -> ValueError:
    """The error for a name that is not one of ``known``: it lists them."""
    return ValueError(f"unknown {kind} encoder {name!r}; known: {', '.join(sorted(known))}")


def check_encoder_name(kind: str, name: str) -> str:
    """``name`` if it is a listed ``kind`` ("image" or "text") encoder, else ValueError."""
    if name not in ENCODER_NAMES[kind]:
        raise unknown_encoder(kind, name, ENCODER_NAMES[kind])
    return name
