"""Validate, embed and align_queries throughput on synthetic data: in this process vs Dask clusters.

Generates ``--images`` JPEGs (smooth random colour fields with noise, 500x375, like the Flickr
photos' size), then for each way of running, in one process run of this script:

- ``in-process``: today's default (the checks in a loop; the encoder with torch's own threads);
- ``local:1`` / ``local:2``: a ``LocalCluster`` of 1 / 2 worker processes, one thread each;
- ``loopback``: a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1;
- ``local:1 trim`` / ``local:2 trim`` (only when named in ``--modes``): workers with Dask's own
  ``MALLOC_TRIM_THRESHOLD_``, as ``local:N`` ran before :data:`imagesearch.cluster.MALLOC_TRIM`.

it times the cluster's start-up (start, connect, worker check) apart from the work, and checks
that every way returns the same checks and the same vector bytes. The work goes through the
stages' own functions (``check_images_on``, ``encode_on_cluster``, and align_queries' USE text
tasks through ``cluster.Tasks``), model loading on each worker included.

    python -m benchmarks.bench_cluster [--images 2000] [--embed-images 256] [--texts 1024]
    python -m benchmarks.bench_cluster --embed-only --modes local:1 local:2   # the embed target only

Targets (issue 29): local:2 (one thread per worker) embeds >= 1.7x as fast as local:1; the
default (``IMAGESEARCH_SCHEDULER`` unset) costs nothing new: its start-up is ~0 s.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")  # as dvc.yaml runs the stages

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

from imagesearch.cluster import ENV, MALLOC_TRIM, Tasks, chunk_slices, cluster_client  # noqa: E402
from imagesearch.data.validate import check_images_on  # noqa: E402
from imagesearch.embedding.encoders.image import build_image_encoder  # noqa: E402
from imagesearch.embedding.images import encode_on_cluster  # noqa: E402
from imagesearch.embedding.multilingual import TEXTS_PER_TASK  # noqa: E402
from imagesearch.embedding.multilingual import encode_on_worker as encode_texts_on_worker  # noqa: E402
from tests.loopback_cluster import start_scheduler, start_worker, stop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The ways of running; "loopback" is replaced by the address of the scheduler started here. The
#: "trim" ones start the workers with Dask's own MALLOC_TRIM_THRESHOLD_, as local:N did before
#: cluster.MALLOC_TRIM (what that costs, measured in the same run).
MODES = {"in-process": None, "local:1": "local:1", "local:2": "local:2", "loopback": "loopback",
         "local:1 trim": "local:1", "local:2 trim": "local:2"}
DASK_TRIM = "65536"


def synthetic_catalog(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` JPEGs of 500x375: a bilinear colour field plus noise (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        corners = rng.uniform(0, 255, size=(2, 2, 3))
        y, x = np.linspace(0, 1, 375)[:, None, None], np.linspace(0, 1, 500)[None, :, None]
        field = (corners[0, 0] * (1 - y) * (1 - x) + corners[0, 1] * (1 - y) * x
                 + corners[1, 0] * y * (1 - x) + corners[1, 1] * y * x)
        pixels = np.clip(field + rng.normal(0, 18, size=(375, 500, 3)), 0, 255).astype(np.uint8)
        path = folder / f"synthetic_{i:05d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def run_on(scheduler: str | None, work: Callable[[Any], Any], folder: Path,
           trim: bool = False) -> tuple[float, float, Any]:
    """(start-up seconds, work seconds, result) of ``work(client)`` under ``scheduler``; ``trim``:
    local workers inherit Dask's MALLOC_TRIM_THRESHOLD_ from this process."""
    if scheduler is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = scheduler
    if trim:
        os.environ[MALLOC_TRIM] = DASK_TRIM
    try:
        started = time.perf_counter()
        with cluster_client(folder) as client:
            ready = time.perf_counter()
            result = work(client)
            done = time.perf_counter()
    finally:
        os.environ.pop(MALLOC_TRIM, None)
    return ready - started, done - ready, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="synthetic JPEGs for validate")
    parser.add_argument("--embed-images", type=int, default=256, help="of those, how many to embed")
    parser.add_argument("--texts", type=int, default=1024, help="synthetic sentences for align_queries' USE")
    parser.add_argument("--embed-only", action="store_true", help="time embedding alone (validate and USE skipped)")
    parser.add_argument("--modes", nargs="+", default=["in-process", "local:1", "local:2", "loopback"], choices=list(MODES), help="ways of running to time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    embed_params, validate_params = params["embed_images"], params["validate"]

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = synthetic_catalog(folder / "images", args.images)
        print(f"{len(paths)} synthetic JPEGs in {time.perf_counter() - started:.1f} s; "
              f"embedding the first {args.embed_images} with {embed_params['encoder']}, "
              f"batch {embed_params['batch_size']}")
        address, scheduler = start_scheduler(folder)
        workers = [start_worker(address, folder) for _ in range(2)]
        try:
            modes = {mode: address if MODES[mode] == "loopback" else MODES[mode] for mode in args.modes}

            def validate(client: Any) -> list:
                return check_images_on(client, paths, validate_params["min_image_side"],
                                       validate_params["max_image_pixels"], progress=False)

            words = "a dog cat child runs jumps on the grass snow beach red blue small big two men women".split()
            rng = np.random.default_rng(1)
            texts = [" ".join(rng.choice(words, size=int(rng.integers(4, 12)))) for _ in range(args.texts)]

            def align(client: Any) -> np.ndarray:
                chunks = [texts[part] for part in chunk_slices(len(texts), TEXTS_PER_TASK)]
                return np.concatenate(Tasks(client).map(encode_texts_on_worker, chunks, "USE", progress=False))

            def embed(client: Any) -> np.ndarray:
                encoder = build_image_encoder(embed_params)
                items = paths[:args.embed_images]
                if client is None:
                    return encoder.encode(items)
                return encode_on_cluster(client, embed_params, encoder, items)

            rows = {}
            reference: dict[str, Any] = {}
            for mode, spec in modes.items():
                skipped = (0.0, float("nan"), None)
                trim = mode.endswith(" trim")
                startup, validate_s, checks = skipped if args.embed_only else run_on(spec, validate, folder, trim)
                embed_startup, embed_s, vectors = run_on(spec, embed, folder, trim)
                _, align_s, text_vectors = skipped if args.embed_only else run_on(spec, align, folder, trim)
                same = reference.setdefault("checks", checks) == checks and \
                    reference.setdefault("vectors", vectors.tobytes()) == vectors.tobytes() and \
                    reference.setdefault("texts", _bytes(text_vectors)) == _bytes(text_vectors)
                rows[mode] = (startup or embed_startup, validate_s, embed_s, align_s, same)
                print(f"{mode:>20}: start-up {startup or embed_startup:5.1f} s | validate {len(paths) / validate_s:7.1f} "
                      f"img/s | embed {args.embed_images / embed_s:5.2f} img/s | USE {len(texts) / align_s:6.1f} "
                      f"texts/s | same output: {same} | load average {load_average()}", flush=True)
        finally:
            stop([*workers, scheduler])

    nan = (0.0, float("nan"), float("nan"), float("nan"), None)
    base_validate, base_embed, base_align = rows.get("in-process", nan)[1:4]
    one = rows.get("local:1", nan)
    print("\nthroughput ratios (higher is faster; work only, start-up apart)")
    for mode, (startup, validate_s, embed_s, align_s, _) in rows.items():
        print(f"{mode:>20}: validate {base_validate / validate_s:4.2f}x in-process | "
              f"embed {base_embed / embed_s:4.2f}x in-process, {one[2] / embed_s:4.2f}x local:1 | "
              f"USE {base_align / align_s:4.2f}x in-process, {one[3] / align_s:4.2f}x local:1")


def _bytes(vectors: np.ndarray | None) -> bytes | None:
    return None if vectors is None else vectors.tobytes()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them (the machine may be shared)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
