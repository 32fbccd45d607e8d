"""Incremental image embedding: add 10 images to 1,090 and re-run the embed_images stage.

Builds a scratch repo root in a temp folder whose ``data/clean/images.parquet`` points at the real
images (through a symlink, nothing copied), runs ``stages/embed_images.py`` as DVC would (a fresh
process) on 1,090 images with an empty cache (cold), then on all 1,100 (10 new). Prints both wall
times and their ratio (target <= 0.1).

    python -m benchmarks.bench_incremental [--dataset DIR] [--encoder efficientnet-lite0]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = ROOT.parent / "shared/datasets/dsplus_integrated_project_4"


def images_table(root: Path, dataset_link: Path) -> pd.DataFrame:
    rows = []
    for split, folder in (("train", "train_images"), ("test", "test_images")):
        for path in sorted((dataset_link / folder).glob("*.jpg")):
            rows.append({"image": path.name, "split": split, "path": path.relative_to(root).as_posix(),
                         "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                         "width": 0, "height": 0})
    return pd.DataFrame(rows)


def run_stage(root: Path) -> tuple[float, float]:
    """Wall time of the stage process, and the time the stage reports for its own work."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "stages/embed_images.py")], cwd=root,
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    inner = float(re.search(r"embed_images took ([\d.]+) s", done.stderr).group(1))
    return wall, inner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--encoder", default="efficientnet-lite0")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--new", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_incremental.") as tmp:
        root = Path(tmp)
        (root / "dataset").symlink_to(args.dataset.resolve())
        (root / "data/clean").mkdir(parents=True)
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["embed_images"] = {"encoder": args.encoder, "batch_size": args.batch_size, "options": {}}
        (root / "params.yaml").write_text(yaml.safe_dump(params))
        table = images_table(root, root / "dataset")
        new = table.sample(n=args.new, random_state=0).index
        table.drop(index=new).to_parquet(root / "data/clean/images.parquet", index=False)
        cold_wall, cold_inner = run_stage(root)
        print(f"cold: {len(table) - args.new} images, empty cache: {cold_wall:.2f} s wall "
              f"({cold_inner:.2f} s inside the stage)")

        table.to_parquet(root / "data/clean/images.parquet", index=False)
        warm_wall, warm_inner = run_stage(root)
        print(f"incremental: {len(table)} images, {args.new} new: {warm_wall:.2f} s wall "
              f"({warm_inner:.2f} s inside the stage)")
        print(f"ratio incremental / cold: {warm_wall / cold_wall:.3f} wall, "
              f"{warm_inner / cold_inner:.3f} inside the stage (target <= 0.1)")


if __name__ == "__main__":
    main()
