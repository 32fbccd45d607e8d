"""Where the final fit on a cluster starts to pay: one process against ``xgboost.dask`` on a
LocalCluster of 1 and 2 workers (one thread each), on synthetic tables shaped like the relevance
model's (25 features, a [0, 1] target, weights), globally binned as the pipeline bins them past
``train.distributed_fit_from``. Prints seconds, ratios against one process measured in the same
run, whether the trees have the same splits, and the largest difference in prediction.

    python -m benchmarks.bench_distributed_fit --rows 50000 200000
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from imagesearch.modeling.distributed_fit import bin_globally, fit_regressor, splits_of

COMMON = dict(objective="reg:logistic", tree_method="hist", n_jobs=1, random_state=0, n_estimators=150,
              learning_rate=0.05, max_depth=4, subsample=1.0, colsample_bytree=0.8)


def synthetic(rows: int, columns: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns)).astype(np.float32)
    y = (1 / (1 + np.exp(-(x[:, 0] + x[:, 1] * x[:, 2] + 0.3 * x[:, 3])))).astype(np.float32)
    return bin_globally(x), y, (rng.random(rows) + 0.5).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from dask.distributed import Client, LocalCluster

    print(f"{'rows':>9} {'in process s':>13} {'local:1 s':>10} {'local:2 s':>10} {'1 / local:2':>12} "
          "same splits  max |dpred|")
    for rows in args.rows:
        x, y, w = synthetic(rows)
        start = time.perf_counter()
        alone = fit_regressor(COMMON, x, y, w)
        single = time.perf_counter() - start
        timings, same, gap = {}, True, 0.0
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                start = time.perf_counter()
                model = fit_regressor(COMMON, x, y, w, client=client)
                timings[workers] = time.perf_counter() - start
                same &= splits_of(model.get_booster()) == splits_of(alone.get_booster())
                gap = max(gap, float(np.abs(model.predict(x) - alone.predict(x)).max()))
        print(f"{rows:>9,} {single:>13.2f} {timings[1]:>10.2f} {timings[2]:>10.2f} "
              f"{single / timings[2]:>11.2f}x {'yes' if same else 'NO':>11}  {gap:.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
