"""DVC stage embed_images: every clean image -> one L2-normalised vector.

Reads ``params.yaml`` section ``embed_images`` (``encoder``, ``batch_size``, ``options``) and
``data/clean/images.parquet``; writes ``data/features/images.npz`` (ids = image file names).
Vectors of unchanged images come from the content-addressed cache in ``data/cache/embeddings``.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python stages/embed_images.py` without an install
    sys.path.insert(0, str(ROOT))

from imagesearch.embedding_cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, file_key  # noqa: E402
from imagesearch.encoders import build_image_encoder  # noqa: E402
from imagesearch.vectors import VectorSet, save_vectors  # noqa: E402

log = logging.getLogger("embed_images")

IMAGES = Path("data/clean/images.parquet")
OUTPUT = Path("data/features/images.npz")
REQUIRED_COLUMNS = {"image", "path"}


def content_keys(table, paths: list[Path]) -> list[str]:
    """sha256 of each image's bytes: validate's ``sha256`` column when it is complete (it hashed
    the same files, and reading 130 MB again would dominate an incremental run), else hashed here.
    """
    if "sha256" in table.columns:
        column = [str(v).lower() for v in table["sha256"].fillna("")]
        if all(len(v) == 64 and all(c in "0123456789abcdef" for c in v) for v in column):
            return column
    return [file_key(p) for p in paths]


def run(params: dict, root: Path = ROOT, cache_root: Path | None = None,
        progress: bool = True) -> VectorSet:
    """Embed all images listed in ``root/data/clean/images.parquet`` and write the vector file.

    ``cache_root`` defaults to ``root/data/cache/embeddings``.
    """
    import pandas as pd

    root = Path(root)
    encoder = build_image_encoder(params)  # cheap: the model loads only if something is missing
    table = pd.read_parquet(root / IMAGES)
    missing = REQUIRED_COLUMNS - set(table.columns)
    if missing:
        raise ValueError(f"{IMAGES} lacks columns {sorted(missing)}")
    paths = [root / p for p in table["path"]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} listed images are missing, e.g. {absent[:3]}")

    keys = content_keys(table, paths)
    cache = EmbeddingCache(cache_root or root / DEFAULT_ROOT, "image", encoder)
    vectors, hits = encode_cached(
        lambda items: encoder.encode(items, progress=progress), paths, keys, cache
    )
    result = VectorSet(ids=tuple(str(i) for i in table["image"]), vectors=vectors,
                       encoder=encoder.describe())
    save_vectors(root / OUTPUT, result)
    log.info("wrote %s: %d images x %d dims (%d cached)", OUTPUT, len(result.ids), result.dim, hits)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this one)")
    parser.add_argument("--params", type=Path, help="params file (default: ROOT/params.yaml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    params = yaml.safe_load((args.params or args.root / "params.yaml").read_text())["embed_images"]
    start = time.perf_counter()
    run(params, root=args.root)
    log.info("embed_images took %.2f s", time.perf_counter() - start)


if __name__ == "__main__":
    main()
