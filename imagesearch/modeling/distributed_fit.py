"""The final fit past one machine: globally binned features, trained through ``xgboost.dask``.

XGBoost on several workers sketches its bin boundaries on each worker's rows, so which rows sit
where changes the model (and Dask's placement is not stable between runs). Past
``train.distributed_fit_from`` pair rows, each feature is first binned to at most ``MAX_BIN``
values with cut points computed here from the whole table; every worker then finds the same bins,
and a fit on any number of workers grows the trees a single process grows on the same binned
table (:func:`fit_regressor`): the same splits; a leaf value may differ in its last float32 bit,
because the workers' gradient sums are added in another order (measured: predictions within
1.2e-7). The binning happens past the threshold whether or not a cluster is set, so the trees do
not depend on where they were grown.

XGBoost's row subsampling draws on each worker's own rows, which placement decides, so a fit on
the cluster needs ``train.xgb.subsample: 1.0`` (:class:`DistributedFit` says so before fitting).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

from imagesearch.params import ParamsError


#: XGBoost's own default ``max_bin``: a column with at most this many values is sketched exactly.
MAX_BIN = 256


@dataclass(frozen=True)
class DistributedFit:
    """Where the final fit runs: ``from_rows`` (``train.distributed_fit_from``) and the Dask
    client of the configured scheduler, or None for this process."""

    from_rows: int
    client: Any = None

    def applies(self, rows: int) -> bool:
        return rows >= self.from_rows

    def check(self, params: dict[str, Any]) -> None:
        """ParamsError before a cluster fit whose model would depend on row placement."""
        subsample = float(params.get("subsample", 1.0))
        if self.client is not None and subsample < 1.0:
            raise ParamsError(
                f"train.xgb.subsample is {subsample:g}: on a cluster XGBoost samples each worker's own "
                "rows, so the model would depend on which rows sit where; set it to 1.0 for a table of "
                f"{self.from_rows:,}+ pair rows (train.distributed_fit_from), or unset IMAGESEARCH_SCHEDULER")


def bin_globally(features: np.ndarray, max_bin: int = MAX_BIN) -> np.ndarray:
    """Each column replaced by the lower edge of its quantile bin: at most ``max_bin`` distinct
    values per column, cut points from the whole table (float64 quantiles, so any CPU agrees)."""
    binned = np.empty_like(features, dtype=np.float32)
    levels = np.linspace(0.0, 1.0, max_bin + 1)[:-1]
    for column in range(features.shape[1]):
        values = features[:, column].astype(np.float64)
        cuts = np.unique(np.quantile(values, levels, method="lower"))
        index = np.searchsorted(cuts, values, side="right") - 1
        binned[:, column] = cuts[np.clip(index, 0, len(cuts) - 1)]
    return binned


def fit_regressor(common: dict[str, Any], features: np.ndarray, target: np.ndarray, weight: np.ndarray,
                  eval_set: Sequence[tuple[np.ndarray, np.ndarray]] = (),
                  sample_weight_eval_set: Sequence[np.ndarray] = (), early_stopping_rounds: int | None = None,
                  callbacks: Sequence[Any] = (), client: Any = None) -> xgb.XGBRegressor:
    """``XGBRegressor(**common).fit(...)`` in this process, or through ``xgboost.dask`` on
    ``client``'s workers; either way an in-memory ``XGBRegressor``. On the cluster the callbacks
    are replayed from the evaluation log afterwards (a callback would otherwise run on a worker)."""
    stopping = {"early_stopping_rounds": early_stopping_rounds, "eval_metric": "rmse"} if early_stopping_rounds else {}
    if client is None:
        return xgb.XGBRegressor(**common, **stopping, callbacks=list(callbacks) or None).fit(
            features, target, sample_weight=weight, eval_set=list(eval_set) or None,
            sample_weight_eval_set=list(sample_weight_eval_set) or None, verbose=False)

    import dask.array as da
    import xgboost.dask  # noqa: F401 (registers xgb.dask)

    workers = max(1, len(client.scheduler_info()["workers"]))
    rows = max(1, math.ceil(len(features) / workers))

    def chunked(array: np.ndarray) -> Any:
        return da.from_array(array, chunks=(rows,) + array.shape[1:])

    model = xgb.dask.DaskXGBRegressor(**common, **stopping)
    model.client = client
    with client.as_current():
        model.fit(chunked(features), chunked(target), sample_weight=chunked(weight),
                  eval_set=[(chunked(x), chunked(y)) for x, y in eval_set] or None,
                  sample_weight_eval_set=[chunked(w) for w in sample_weight_eval_set] or None, verbose=False)
    local = xgb.XGBRegressor(**common)
    local.load_model(bytearray(model.get_booster().save_raw("json")))
    if callbacks and eval_set:
        replay(callbacks, model.evals_result(), local.get_booster())
    return local


class EvalLog(xgb.callback.TrainingCallback):
    """Keeps a fit's evaluation log and best iteration, for :func:`replay` in another process
    (a fit run as a cluster task: callbacks that write files must run in the stage's process)."""

    def __init__(self) -> None:
        super().__init__()
        self.evals_result: dict[str, dict[str, list[float]]] = {}
        self.best_iteration = -1

    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        self.evals_result = {name: {metric: list(values) for metric, values in data.items()}
                             for name, data in evals_log.items()}
        return False

    def after_training(self, model: Any) -> Any:
        self.best_iteration = int(model.best_iteration)
        return model


@dataclass(frozen=True)
class FinishedFit:
    """What a replayed callback reads of the finished booster (``TrainingCurve``: its best iteration)."""

    best_iteration: int


def replay(callbacks: Sequence[Any], evals_result: dict[str, dict[str, list[float]]],
           booster: xgb.Booster | FinishedFit) -> None:
    """Feed a finished fit's evaluation log to XGBoost callbacks, one iteration at a time."""
    rounds = len(next(iter(next(iter(evals_result.values())).values())))
    for epoch in range(rounds):
        log_so_far = {name: {metric: values[:epoch + 1] for metric, values in data.items()}
                      for name, data in evals_result.items()}
        for callback in callbacks:
            callback.after_iteration(booster, epoch, log_so_far)
    for callback in callbacks:
        callback.after_training(booster)


_LEAF = re.compile(r"leaf=[-0-9.e+]+")


def splits_of(booster: xgb.Booster) -> list[str]:
    """Every tree's text dump with its leaf values blanked: the trees' shape and split points."""
    return [_LEAF.sub("leaf=", tree) for tree in booster.get_dump()]
