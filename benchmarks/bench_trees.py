"""The numpy tree evaluator against XGBoost's C++ predictor, on the pipeline's model.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_trees [--model data/model/booster.json] [--repeat 10]
        [--before OTHER/trees.py]

Scores random float32 rows (the model's feature count; 5,000 rows: a two-stage re-rank, and
50,000) with ``TreeEnsemble.predict`` and with ``xgboost.Booster.inplace_predict`` (one thread) in
the same process, checks that the bits agree, and prints the medians, their ratio and the load
average. ``--before`` times another version of ``imagesearch/modeling/trees.py`` in the same run
(e.g. ``git show 02dc0b3:imagesearch/modeling/trees.py > /tmp/trees_before.py``).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from imagesearch.modeling.trees import TreeEnsemble


def median_ms(function, repeat: int) -> float:
    function()  # warm up outside the timing
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def load_evaluator(path: Path):
    """The ``TreeEnsemble`` class of another copy of the evaluator's module."""
    spec = importlib.util.spec_from_file_location("trees_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.TreeEnsemble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("data/model/booster.json"))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument("--before", type=Path, help="another version of imagesearch/modeling/trees.py")
    args = parser.parse_args(argv)
    import xgboost as xgb

    trees = TreeEnsemble.from_json(args.model.read_bytes())
    before = load_evaluator(args.before).from_json(args.model.read_bytes()) if args.before else None
    booster = xgb.Booster(model_file=str(args.model))
    booster.set_param({"nthread": 1})
    rng = np.random.default_rng(0)
    print(f"{args.model}: {len(trees)} trees, depth {trees.depth}, {booster.num_features()} features")
    for rows in args.rows:
        features = rng.normal(size=(rows, booster.num_features())).astype(np.float32)
        if not np.array_equal(trees.predict(features), booster.inplace_predict(features)):
            raise SystemExit(f"{rows} rows: the numpy evaluator's scores differ from XGBoost's")
        numpy_ms = median_ms(lambda: trees.predict(features), args.repeat)
        xgb_ms = median_ms(lambda: booster.inplace_predict(features), args.repeat)
        print(f"{rows:>7,} rows: numpy {numpy_ms:7.2f} ms, xgboost {xgb_ms:7.2f} ms, "
              f"ratio {numpy_ms / xgb_ms:.2f} (medians of {args.repeat})")
        if before is not None:
            if not np.array_equal(before.predict(features), booster.inplace_predict(features)):
                raise SystemExit(f"{rows} rows: {args.before}'s scores differ from XGBoost's")
            before_ms = median_ms(lambda: before.predict(features), args.repeat)
            print(f"{'':>7}       {args.before}: {before_ms:7.2f} ms, {before_ms / numpy_ms:.2f}x this one's time")
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
