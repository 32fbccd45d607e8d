"""DVC stage embed_texts: every caption and test query -> one L2-normalised vector.

Reads ``params.yaml`` section ``embed_texts`` (``encoder``, ``batch_size``, ``options``) and
``data/clean/captions.parquet``. Fits the encoder on the train captions only (tfidf; a no-op for
pretrained encoders), then writes ``data/features/texts.npz`` (ids = query_id) and the saved
encoder ``data/features/text_encoder/`` that the search service uses for new queries.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python stages/embed_texts.py` without an install
    sys.path.insert(0, str(ROOT))

from imagesearch.atomic import atomic_path  # noqa: E402
from imagesearch.embedding_cache import DEFAULT_ROOT, EmbeddingCache, encode_cached, text_key  # noqa: E402
from imagesearch.encoders import build_text_encoder  # noqa: E402
from imagesearch.vectors import VectorSet, save_vectors  # noqa: E402

log = logging.getLogger("embed_texts")

CAPTIONS = Path("data/clean/captions.parquet")
OUTPUT = Path("data/features/texts.npz")
ENCODER_DIR = Path("data/features/text_encoder")
REQUIRED_COLUMNS = {"query_id", "query_text", "split"}


def run(params: dict, root: Path = ROOT, cache_root: Path | None = None,
        progress: bool = True) -> VectorSet:
    """Fit on train captions, embed every text, write vectors and the saved encoder."""
    import pandas as pd

    root = Path(root)
    encoder = build_text_encoder(params)
    table = pd.read_parquet(root / CAPTIONS)
    missing = REQUIRED_COLUMNS - set(table.columns)
    if missing:
        raise ValueError(f"{CAPTIONS} lacks columns {sorted(missing)}")
    texts = [str(t) for t in table["query_text"]]
    train = sorted(set(table.loc[table["split"] == "train", "query_text"].astype(str)))
    if not train:
        raise ValueError(f"{CAPTIONS} has no train captions to fit the text encoder on")
    encoder.fit(train)  # train captions only: test queries must not shape the encoder

    cache = EmbeddingCache(cache_root or root / DEFAULT_ROOT, "text", encoder)
    vectors, hits = encode_cached(
        lambda items: encoder.encode(items, progress=progress), texts,
        [text_key(t) for t in texts], cache,
    )
    result = VectorSet(ids=tuple(str(i) for i in table["query_id"]), vectors=vectors,
                       encoder=encoder.describe())
    save_vectors(root / OUTPUT, result)
    with atomic_path(root / ENCODER_DIR) as tmp:
        encoder.save(tmp)
    log.info("wrote %s: %d texts x %d dims (%d cached), encoder in %s",
             OUTPUT, len(result.ids), result.dim, hits, ENCODER_DIR)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this one)")
    parser.add_argument("--params", type=Path, help="params file (default: ROOT/params.yaml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    params = yaml.safe_load((args.params or args.root / "params.yaml").read_text())["embed_texts"]
    start = time.perf_counter()
    run(params, root=args.root)
    log.info("embed_texts took %.2f s", time.perf_counter() - start)


if __name__ == "__main__":
    main()
