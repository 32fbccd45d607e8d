"""What the CLIP/SigLIP image and text towers share: resolving a model id or folder (offline
aware), the content hash of its files, the device option, option checks, the zero-shot cosine.

Neither tower's module imports the other (the embed stages must not run each other's code,
tests/test_embedding_layout.py); both import this one.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.hashing import hash_file

VISION_LANGUAGE_NAMES = ("clip", "siglip")
OPTIONS = ("model", "device", "precision")
DEVICES = ("cpu", "cuda", "auto")
PRECISIONS = ("float64", "float32")
#: Top-level files of a model folder that can change its vectors (config, processor, tokenizer, weights).
MODEL_FILE_SUFFIXES = (".json", ".txt", ".model", ".safetensors", ".bin")
#: What is fetched for a hub id that is not cached yet (one weights format, not all of them).
HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]


def not_cached_error(model: str, detail: str) -> FileNotFoundError:
    return FileNotFoundError(f"{model}: not in the local cache: run once with network, "
                             f"or point options.model at a folder ({detail})")


def _looks_like_path(model: str) -> bool:
    return (os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1
            or os.sep != "/" and os.sep in model or Path(model).exists())


def model_folder(model: str) -> Path:
    """The local folder holding ``model``: the folder itself, or the hub cache's snapshot of the
    id (fetched first when the hub is reachable; offline, a missing one raises
    :func:`not_cached_error`)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if _looks_like_path(model):
        raise not_cached_error(model, "no such folder")
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model, local_files_only=True))
    except LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:
            raise not_cached_error(model, "HF_HUB_OFFLINE is set") from None
    try:
        folder = Path(snapshot_download(model, allow_patterns=HUB_PATTERNS))
        if not any(folder.glob("*.safetensors")):  # an older repository: PyTorch pickles only
            folder = Path(snapshot_download(model, allow_patterns=["*.bin"]))
        return folder
    except Exception as err:  # no network, unknown repository, ...
        raise not_cached_error(model, f"{type(err).__name__}: {err}") from err


def model_files_sha256(folder: Path) -> str:
    """sha256 over the folder's top-level model files (names and contents): the cache key part
    that stands for the weights, whatever path or hub id they were reached by."""
    import hashlib

    digest = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in MODEL_FILE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{folder}: no model files (config.json, *.safetensors, ...)")
    for path in files:
        digest.update(path.name.encode())
        digest.update(hash_file(path).encode())
    return digest.hexdigest()


def torch_device(option: str) -> str:
    """``cpu``/``cuda`` for the ``device`` option (``auto``: cuda when torch sees a GPU)."""
    import torch

    if option == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if option == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("options.device is 'cuda' but torch sees no GPU; use 'cpu' or 'auto'")
    return option


def check_options(name: str, options: dict[str, Any], allowed: tuple[str, ...] = OPTIONS) -> None:
    """Raise ValueError for a missing ``model``, an unknown key or an unknown device/precision."""
    if not isinstance(options.get("model"), str) or not options["model"]:
        raise ValueError(f"the {name} encoder needs options.model: a hub id or a local folder")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown options {unknown}; known: {list(allowed)}")
    if options.get("device", "auto") not in DEVICES:
        raise ValueError(f"{name}: options.device must be one of {DEVICES}, got {options['device']!r}")
    if options.get("precision", "float64") not in PRECISIONS:
        raise ValueError(f"{name}: options.precision must be one of {PRECISIONS}, "
                         f"got {options['precision']!r}")


# -- zero-shot similarity -----------------------------------------------------------------------
def zero_shot_cosine(image_vectors: np.ndarray, text_vectors: np.ndarray,
                     pairs: bool = False) -> np.ndarray:
    """The model's own image–text cosine: image and text vectors of the *same* CLIP/SigLIP model.

    ``pairs=False``: every image against every text, ``(n_images, n_texts)``; ``pairs=True``: row
    ``i`` of both, ``(n,)`` (like ``joint_space.grid_features`` / ``pair_features``). The vectors
    are the encoders' unit rows, so this is a plain dot product (in float64, returned as float32).
    """
    images = np.asarray(image_vectors, dtype=np.float64)
    texts = np.asarray(text_vectors, dtype=np.float64)
    if images.ndim != 2 or texts.ndim != 2 or images.shape[1] != texts.shape[1]:
        raise ValueError(f"need (n, d) image and text vectors of one model, got {images.shape} "
                         f"and {texts.shape}")
    if pairs:
        if images.shape[0] != texts.shape[0]:
            raise ValueError(f"pairs=True needs as many images as texts, got {images.shape[0]} "
                             f"and {texts.shape[0]}")
        return np.einsum("ij,ij->i", images, texts).astype(np.float32)
    return (images @ texts.T).astype(np.float32)


def shares_vision_language_model(image_encoder: dict[str, Any], text_encoder: dict[str, Any]) -> bool:
    """Whether two vector files' ``encoder`` records (:meth:`Encoder.describe`) come from one
    vision–language model, i.e. whether :func:`zero_shot_cosine` between them means anything."""
    return (image_encoder.get("name") in VISION_LANGUAGE_NAMES
            and image_encoder.get("name") == text_encoder.get("name")
            and image_encoder.get("weights_sha256") is not None
            and image_encoder.get("weights_sha256") == text_encoder.get("weights_sha256"))


class ModelFiles:
    """Mixin of both towers: ``options["model"]`` resolved to a folder, its content hash (the
    cache key: a copied folder keeps it, other weights change it) and its config."""

    options: dict[str, Any]

    @cached_property
    def folder(self) -> Path:
        return model_folder(self.options["model"])

    @cached_property
    def weights_sha256(self) -> str:
        return model_files_sha256(self.folder)

    @cached_property
    def model_config(self) -> Any:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.folder)

    def load_tower(self, model_class: str, drop: tuple[str, ...]) -> Any:
        """The ``transformers`` model, eval mode, with the other tower's attributes set to None
        (half the memory in float64); a clear error when the folder holds no such model."""
        import transformers

        try:
            model = getattr(transformers, model_class).from_pretrained(self.folder)
        except OSError as err:
            raise OSError(f"{self.options['model']}: could not load a {model_class} from "
                          f"{self.folder}: {err}") from err
        for attribute in drop:
            setattr(model, attribute, None)
        return model.eval().requires_grad_(False)
