"""Pipeline wall time: cold ``dvc repro``, a no-op ``dvc repro``, and ``dvc repro`` after a train param.

Runs in a temporary git + DVC repository holding a copy of this checkout's code and params
(``tests/pipeline_repo.make_pipeline_repo``): with ``--tiny`` on the tiny test dataset (shrunk
params, ~1 min), by default on the real dataset with the real params and ``data/dataset.sha256``
(several minutes; run it once, on a quiet machine). The copy has no embedding cache, so the
cold run embeds every image. Targets on the real data: cold <= 120 s, no-op <= 3 s,
train-param change <= 30 s.

    python -m benchmarks.bench_pipeline [--tiny] [--keep DIR]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.pipeline_repo import dvc, make_pipeline_repo, set_param

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared/datasets/dsplus_integrated_project_4"
TARGETS = {"cold": 120.0, "no-op": 3.0, "train param": 30.0}


def timed_repro(repo: Path) -> tuple[float, list[str]]:
    start = time.perf_counter()
    out = dvc(repo, "repro")
    seconds = time.perf_counter() - start
    ran = [line.split("'")[1] for line in out.stdout.splitlines() if line.startswith("Running stage")]
    return seconds, ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="the tiny test dataset, shrunk params")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--keep", type=Path, help="build the repo here and keep it (for bench_memory)")
    args = parser.parse_args()

    tmp = None
    if args.keep:
        root = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_pipeline_")
        root = Path(tmp.name) / "repo"
    try:
        if args.tiny:
            from tests.tinydata import make_tiny_dataset

            dataset = make_tiny_dataset(root.parent / "tiny_dataset")
            make_pipeline_repo(root, dataset)
        else:
            make_pipeline_repo(root, args.dataset.resolve(), real=True)
        figures = {}
        figures["cold"], ran = timed_repro(root)
        print(f"cold dvc repro: {figures['cold']:.1f} s ({len(ran)} stages: {', '.join(ran)})", flush=True)
        figures["no-op"], ran = timed_repro(root)
        print(f"no-op dvc repro: {figures['no-op']:.1f} s (stages run: {ran or 'none'})", flush=True)
        set_param(root, ("train", "xgb", "learning_rate"), 0.06)
        figures["train param"], ran = timed_repro(root)
        print(f"train.xgb.learning_rate 0.05 -> 0.06, dvc repro: {figures['train param']:.1f} s "
              f"(stages run: {', '.join(ran)})", flush=True)
        print(f"\n{'run':<12} {'seconds':>8} {'target':>7} {'vs target':>10}  ({'tiny' if args.tiny else 'real'} data)")
        for name, seconds in figures.items():
            target = TARGETS[name]
            print(f"{name:<12} {seconds:>8.1f} {target:>7.0f} {seconds / target:>9.2f}x"
                  + ("" if args.tiny else ("  met" if seconds <= target else "  MISSED")))
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
