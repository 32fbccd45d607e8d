"""The final fit past one machine: globally binned features make a fit on any number of Dask
workers the model one process fits (a real LocalCluster and a real scheduler with two workers)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from imagesearch.modeling.distributed_fit import MAX_BIN, DistributedFit, bin_globally, fit_regressor, splits_of
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.params import ParamsError
from tests.loopback_cluster import start_scheduler, start_worker, stop
from tests.synthetic_pairs import SMALL_XGB, planted, small_config

ULP = 2.4e-7  # two float32 steps below 1.0: the most a leaf's last bit moves a score
COMMON = dict(objective="reg:logistic", tree_method="hist", n_jobs=1, random_state=0, n_estimators=60,
              learning_rate=0.1, max_depth=4, subsample=1.0, colsample_bytree=0.8)


def table(rows: int = 6000, columns: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns)).astype(np.float32)
    y = (1 / (1 + np.exp(-(x[:, 0] + x[:, 1] * x[:, 2])))).astype(np.float32)
    return x, y, (rng.random(rows) + 0.5).astype(np.float32)


class Recorder(xgb.callback.TrainingCallback):
    """What an XGBoost callback sees: the last value of every curve, per iteration."""

    def __init__(self) -> None:
        self.seen: list[dict[str, float]] = []

    def after_iteration(self, model, epoch, evals_log) -> bool:  # noqa: ANN001
        self.seen.append({f"{name}/{m}": v[-1] for name, data in evals_log.items() for m, v in data.items()})
        return False


def fit_both_ways(client, x, y, w) -> tuple[list[xgb.XGBRegressor], list[Recorder]]:  # noqa: ANN001
    held = np.arange(len(x)) % 5 == 0
    models, recorders = [], []
    for on in (None, client):
        recorder = Recorder()
        models.append(fit_regressor(COMMON, x[~held], y[~held], w[~held],
                                    eval_set=[(x[~held], y[~held]), (x[held], y[held])],
                                    sample_weight_eval_set=[w[~held], w[held]], early_stopping_rounds=10,
                                    callbacks=[recorder], client=on))
        recorders.append(recorder)
    return models, recorders


def test_binning_keeps_order_and_at_most_max_bin_values_per_column() -> None:
    x, _, _ = table(rows=3000)
    binned = bin_globally(x)
    assert binned.dtype == np.float32 and binned.shape == x.shape
    for column in range(x.shape[1]):
        assert len(np.unique(binned[:, column])) <= MAX_BIN
        order = np.argsort(x[:, column], kind="stable")
        assert (np.diff(binned[order, column]) >= 0).all()  # a larger value never gets a lower bin
        assert (binned[:, column] <= x[:, column]).all()  # each value sits at its bin's lower edge
    assert np.array_equal(bin_globally(x[::-1])[::-1], binned)  # row order does not move the cuts


def test_below_the_threshold_the_fit_is_the_plain_in_process_fit() -> None:
    pairs, image_set, text_set, _, _ = planted(n_images=60, n_test=5)
    config = small_config()
    plain = RelevanceModel(config).fit(pairs, image_set, text_set)
    below = RelevanceModel(config).fit(pairs, image_set, text_set, distributed=DistributedFit(10**9))
    assert plain.booster.get_booster().save_raw("json") == below.booster.get_booster().save_raw("json")
    past = RelevanceModel(config).fit(pairs, image_set, text_set, distributed=DistributedFit(1))
    assert past.booster.get_booster().save_raw("json") != plain.booster.get_booster().save_raw("json")


@pytest.fixture(scope="module")
def local_client() -> Iterator[object]:
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


@pytest.mark.slow
def test_two_local_workers_fit_the_model_one_process_fits_on_binned_features(local_client) -> None:
    x, y, w = table()
    (alone, together), (seen_alone, seen_together) = fit_both_ways(local_client, bin_globally(x), y, w)
    assert alone.best_iteration == together.best_iteration
    assert splits_of(alone.get_booster()) == splits_of(together.get_booster())  # every split point
    # leaves: the workers add their gradient sums in another order, so the last float32 bit may move
    assert np.abs(alone.predict(x) - together.predict(x)).max() <= ULP
    assert len(seen_together.seen) == len(seen_alone.seen) > 10  # the curve, replayed from the cluster's log
    for here, there in zip(seen_alone.seen, seen_together.seen):
        assert here.keys() == there.keys() and all(abs(here[k] - there[k]) < 1e-6 for k in here)


@pytest.mark.slow
def test_without_binning_two_workers_fit_a_different_model(local_client) -> None:
    """Why the binning is there: each worker sketches its own bins from its own rows."""
    x, y, w = table()
    (alone, together), _ = fit_both_ways(local_client, x, y, w)
    assert splits_of(alone.get_booster()) != splits_of(together.get_booster())
    assert np.abs(alone.predict(x) - together.predict(x)).max() > 100 * ULP


@pytest.mark.slow
def test_a_dask_scheduler_with_two_workers_fits_the_same_relevance_model(tmp_path: Path) -> None:
    from dask.distributed import Client

    address, scheduler = start_scheduler(tmp_path)
    workers = [start_worker(address, tmp_path) for _ in range(2)]
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
            pairs, image_set, text_set, _, _ = planted(n_images=80, n_test=5)
            config = small_config(xgb={**SMALL_XGB, "subsample": 1.0})
            here = RelevanceModel(config).fit(pairs, image_set, text_set, distributed=DistributedFit(1))
            there = RelevanceModel(config).fit(pairs, image_set, text_set, distributed=DistributedFit(1, client))
            assert splits_of(here.booster.get_booster()) == splits_of(there.booster.get_booster())
            images, texts = image_set.vectors[:20], text_set.vectors[:20]
            assert np.abs(here.score(images, texts) - there.score(images, texts)).max() <= ULP

            with pytest.raises(ParamsError, match=r"train.xgb.subsample is 0.9: .*set it to 1.0"):
                RelevanceModel(small_config()).fit(pairs, image_set, text_set,
                                                   distributed=DistributedFit(1, client))
    finally:
        stop([*workers, scheduler])
