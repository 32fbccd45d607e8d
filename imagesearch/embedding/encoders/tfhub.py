"""TensorFlow Hub helpers shared by the image and text ``tfhub`` backends.

Kept apart from both encoder modules so that the text side (embed_texts) does not import the image
encoders. TensorFlow itself is imported only when a model is loaded.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.hashing import hash_tree


def _import_tensorflow_hub() -> Any:
    """Import tensorflow_hub, which (0.16.1) still needs ``pkg_resources.parse_version``.

    setuptools >= 81 no longer ships ``pkg_resources``; rather than pin an old setuptools for the
    whole environment, give tensorflow_hub the one function it uses, from ``packaging``.
    """
    import sys
    import types

    if "tensorflow_hub" in sys.modules:
        return sys.modules["tensorflow_hub"]
    try:
        import pkg_resources  # noqa: F401

        shimmed = False
    except ImportError:
        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)  # type: ignore[assignment]
        shimmed = True
    try:
        import tensorflow_hub
    finally:
        if shimmed:  # only tensorflow_hub's import-time check sees the stand-in
            del sys.modules["pkg_resources"]
    return tensorflow_hub


def load_tfhub(handle: str) -> Any:
    """``tensorflow_hub.load`` with TensorFlow imported only now (it costs seconds and memory)."""
    try:
        hub = _import_tensorflow_hub()
    except ImportError as err:
        raise RuntimeError(
            f"the tfhub encoders need tensorflow-cpu and tensorflow-hub installed ({err})"
        ) from err
    return hub.load(str(handle))


def tfhub_identity(handle: str) -> str:
    """A local SavedModel is identified by its content, a URL by itself."""
    return hash_tree(handle) if Path(handle).exists() else str(handle)


def call_tfhub(model: Any, inputs: Any, output_key: str | None) -> np.ndarray:
    """Call a loaded hub object (or its serving signature) and pick the output tensor."""
    fn: Callable = model if callable(model) else model.signatures["serving_default"]
    out = fn(inputs)
    if isinstance(out, dict):
        key = output_key or ("default" if "default" in out else sorted(out)[0])
        out = out[key]
    return np.asarray(out, dtype=np.float32)
