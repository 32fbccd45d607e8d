"""A synthetic catalog-scale search index that `imagesearch serve` / `search` load like the real one.

The catalog: the real allowed images (test catalog and train photos, blocked ones left out), then
synthetic distractors up to ``--n`` (as in ``bench_million``: mixtures of two real vectors with
log-normal noise; each points at a real photo file so the page can show something). The model,
text encoder, query map and legal policy are copied from the real index; the search is the
two-stage one that the index stage builds past ``index.two_stage_from`` (same code).

    python -m benchmarks.make_million_index --out /tmp/million_index            # 1M images, ~10 min
    python -m benchmarks.bench_serving --index /tmp/million_index --cli-runs 3
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_million import _distractors
from imagesearch import paths
from imagesearch.embedding.vectors import load_vectors
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.params import section
from imagesearch.serving.index import CHUNK, SAMPLE
from imagesearch.serving.two_stage import TwoStageSearch, candidate_spec

ROOT = Path(__file__).resolve().parents[1]
COPIED = ["model", "text_encoder", "visual_classifier.joblib", "crosslingual_rule.json",
          "photo_verdicts.parquet", "query_aligner"]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--real-index", type=Path, default=ROOT / paths.INDEX)
    args = parser.parse_args()

    images = pd.read_parquet(ROOT / paths.IMAGES)
    blocked = set(pd.read_parquet(ROOT / paths.BLOCKED_IMAGES)["image"])
    real_rows = images.loc[~images["image"].isin(blocked)].sort_values(["split", "image"], ascending=[True, True])
    vectors = load_vectors(ROOT / paths.IMAGE_VECTORS)
    real = vectors.take(list(real_rows["image"]))
    n_synthetic = args.n - len(real)
    ids = list(real_rows["image"]) + [f"synthetic_{i:07d}.jpg" for i in range(n_synthetic)]
    files = [str((ROOT / p).resolve()) for p in real_rows["path"]]
    catalog = pd.DataFrame({"image": ids, "path": files + [files[i % len(files)] for i in range(n_synthetic)]})

    def chunks():
        yield real
        for start in range(0, n_synthetic, CHUNK):
            yield _distractors(real, min(CHUNK, n_synthetic - start), seed=start + 1)

    search_params = section("index", ROOT / paths.PARAMS)
    model = RelevanceModel.load(args.real_index / "model")
    sample = np.vstack([real, _distractors(real, min(SAMPLE, args.n) - len(real), seed=10**9)])
    began = time.perf_counter()
    search = TwoStageSearch.build(model, chunks(), sample, candidate_spec(args.n), search_params.nprobe,
                                  search_params.candidates)
    logging.info("built the two-stage search over %d images in %.0f s (%.0f MiB)", len(search),
                 time.perf_counter() - began, search.nbytes / 2**20)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    for name in COPIED:
        source = args.real_index / name
        if source.is_dir():
            shutil.copytree(source, args.out / name)
        elif source.is_file():
            shutil.copy2(source, args.out / name)
    catalog.to_parquet(args.out / "catalog.parquet", index=False)
    search.save(args.out / paths.INDEX_TWO_STAGE)
    manifest = json.loads((args.real_index / "manifest.json").read_text())
    manifest.update(search="two_stage", catalog_images=len(catalog), indexed_images=len(catalog),
                    synthetic_images=n_synthetic)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
