"""The image encoder's two precisions on the same photos: speed and how far the vectors differ.

    python -m benchmarks.bench_precision [--encoder efficientnet-lite1] [--limit 200]

Embeds the first ``--limit`` photos of ``data/raw/train_images`` (run ``dvc repro fetch_data``
first) in float64 (the default: the same bytes on every CPU) and in float32 (faster, not
byte-stable across CPUs), each from a cold encoder, in this process; prints photos per second,
the ratio, and the largest difference between the two vector sets. With ``--index``: how far
the model's scores of the two vector sets differ (``imagesearch score`` of a photo outside the
catalog, embedded in one precision or the other) against ``--texts`` test queries.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from imagesearch.embedding.encoders.image import build_image_encoder


def rate(encoder_name: str, precision: str, photos: list[Path]) -> tuple[float, np.ndarray]:
    encoder = build_image_encoder({"encoder": encoder_name, "batch_size": 32, "options": {"precision": precision}})
    encoder.encode(photos[:2], progress=False)  # load the model outside the timing
    began = time.perf_counter()
    vectors = encoder.encode(photos, progress=False)
    return len(photos) / (time.perf_counter() - began), vectors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="efficientnet-lite1")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--folder", type=Path, default=Path("data/raw/train_images"))
    parser.add_argument("--index", type=Path, default=None, help="also compare the index model's scores")
    parser.add_argument("--texts", type=int, default=100, help="test queries scored against every photo")
    args = parser.parse_args(argv)
    photos = sorted(args.folder.glob("*.jpg"))[:args.limit]
    if not photos:
        raise SystemExit(f"{args.folder}: no photos (run `dvc repro fetch_data` first)")
    f64, v64 = rate(args.encoder, "float64", photos)
    f32, v32 = rate(args.encoder, "float32", photos)
    print(f"{args.encoder}, {len(photos)} photos in process: float64 {f64:.1f} img/s, "
          f"float32 {f32:.1f} img/s ({f32 / f64:.2f}x); max |difference| {np.abs(v64 - v32).max():.2e}")
    if args.index is not None:
        score_difference(args.index, v64, v32, args.texts)
    return 0


def score_difference(index: Path, v64: np.ndarray, v32: np.ndarray, n_texts: int) -> None:
    """The index model's scores of every (test query, photo) from either vector set, compared."""
    import pandas as pd

    from imagesearch.modeling.relevance import RelevanceModel
    from imagesearch.serving.searcher import load_query_encoder

    model = RelevanceModel.load(index / "model")
    encoder = load_query_encoder(index)
    texts = list(pd.read_parquet("data/clean/test_queries.parquet")["query_text"])[:n_texts]
    text_vectors = np.concatenate([encoder.encode([text]) for text in texts])
    s64 = model.score_grid(model.image_side(v64), text_vectors)
    s32 = model.score_grid(model.image_side(v32), text_vectors)
    gap = np.abs(s64 - s32).ravel()
    print(f"scores of {s64.size} (query, photo) pairs: |float64 - float32| max {gap.max():.2e}, "
          f"99th percentile {np.percentile(gap, 99):.2e}, median {np.median(gap):.2e}, "
          f"differ in {np.mean(gap > 0):.1%} of pairs, in the 4th decimal in {np.mean(gap >= 5e-5):.1%}")


if __name__ == "__main__":
    raise SystemExit(main())
