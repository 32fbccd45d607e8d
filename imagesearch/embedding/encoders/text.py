"""Text encoders by name: imports every text backend, builds one from its params section and
restores a saved one (:func:`load_text_encoder`).

Import this (not a backend module) to build an encoder, so that every backend is registered. The
base class is in ``text_base.py``, the table in ``registry.py``. A new backend: its own module
registering in ``TEXT_ENCODERS``, its name in ``names.py``, an import here. Nothing here imports
the image side (embed_texts must not depend on image-encoder code).
"""
from __future__ import annotations

import json
from pathlib import Path

# every backend of this side; each registers itself on import
from imagesearch.embedding.encoders import minilm, tfhub_text, tfidf, use, vision_language_text  # noqa: F401
from imagesearch.embedding.encoders.registry import TEXT_ENCODERS
from imagesearch.embedding.encoders.text_base import CONFIG_FILE, TextEncoder


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
