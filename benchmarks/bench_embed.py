"""Image embedding speed: the model-only ceiling vs the embed stage's end-to-end code path.

1. Ceiling: crops decoded beforehand, the model alone, for each batch size and memory format;
   the best images/s wins.
2. End to end: what ``stages/embed_images.py`` does for uncached images (hash the files, then
   ``encoder.encode``: decode in a thread pool overlapped with the model) at the best batch size,
   on every image of the folder.

    python -m benchmarks.bench_embed [--folder DIR] [--encoder efficientnet-lite0]

Prints images/s for both and their ratio (target >= 0.9).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

from imagesearch.embedding.cache import encode_cached, file_key  # noqa: E402
from imagesearch.embedding.encoders.image import build_image_encoder  # noqa: E402

DEFAULT_FOLDER = ROOT.parent / "shared/datasets/dsplus_integrated_project_4/train_images"


def model_only(encoder, crops: np.ndarray, batch_size: int, channels_last: bool, repeats: int) -> float:
    """Best-of-``repeats`` images/s of normalise + model on pre-decoded uint8 crops."""
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    encoder.model.to(memory_format=fmt)
    mean = torch.tensor(encoder.mean).mul(255).view(1, 3, 1, 1)
    std = torch.tensor(encoder.std).mul(255).view(1, 3, 1, 1)
    batches = [torch.from_numpy(crops[i:i + batch_size]).permute(0, 3, 1, 2).float()
               .sub(mean).div(std).contiguous(memory_format=fmt)
               for i in range(0, len(crops), batch_size)]
    best = 0.0
    with torch.inference_mode():
        encoder._features(batches[0])  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            for batch in batches:
                encoder._features(batch)
            best = max(best, len(crops) / (time.perf_counter() - start))
    encoder.model.to(memory_format=torch.channels_last)  # what encode() uses
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--encoder", default="efficientnet-lite0")
    parser.add_argument("--batch-sizes", default="1,2,4,8,32")
    parser.add_argument("--ceiling-images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="end to end on the first N images")
    args = parser.parse_args()

    import torch

    paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    paths = paths[:args.limit]
    encoder = build_image_encoder({"encoder": args.encoder})
    print(f"{len(paths)} images in {args.folder}; encoder {args.encoder}; "
          f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}")

    crops = np.stack([encoder.prepare(p) for p in paths[:args.ceiling_images]])
    results = {}
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        for channels_last in (True, False):
            rate = model_only(encoder, crops, bs, channels_last, args.repeats)
            results[(bs, channels_last)] = rate
            print(f"  model only  batch {bs:>2} {'channels_last' if channels_last else 'contiguous   '}"
                  f" {rate:6.1f} img/s")
    (best_bs, best_cl), ceiling = max(results.items(), key=lambda kv: kv[1])
    print(f"ceiling: {ceiling:.1f} img/s (batch {best_bs}, "
          f"{'channels_last' if best_cl else 'contiguous'})")

    start, cpu_start = time.perf_counter(), time.process_time()
    keys = [file_key(p) for p in paths]
    hashed = time.perf_counter() - start
    vectors, _ = encode_cached(lambda items: encoder.encode(items, batch_size=best_bs),
                               paths, keys, cache=None)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    assert vectors.shape[0] == len(paths)
    rate = len(paths) / elapsed
    print(f"end to end (hash + decode + model, batch {best_bs}): {len(paths)} images in "
          f"{elapsed:.1f} s ({hashed:.2f} s hashing) = {rate:.1f} img/s")
    print(f"  process CPU time {cpu:.1f} s for {os.cpu_count()} cores "
          f"({100 * cpu / (elapsed * (os.cpu_count() or 1)):.0f}% of the machine)")
    print(f"ratio end-to-end / ceiling: {rate / ceiling:.2f} (target >= 0.9)")
    if os.getloadavg()[0] > (os.cpu_count() or 1) + 0.5:
        print(f"warning: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other "
              "processes share the CPU, figures are noisy")


if __name__ == "__main__":
    main()
