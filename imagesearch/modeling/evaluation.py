"""Honest evaluation: grouped cross-validation over training images, and the test ranking.

Cross-validation folds are groups of images. A fold's model trains only on pairs that touch
none of its held-out images (neither the paired image nor the caption's own image) and predicts
every pair whose image is held out, so each pair gets exactly one out-of-fold prediction. The
ranking part mirrors the test: each held-out image's own captions rank the held-out images.

The stages are thin around this module: ``train`` calls :func:`cross_validate`, :func:`oof_curves`
and :func:`fit_with_ablation`; ``evaluate`` calls :func:`evaluate_test`.

With ``IMAGESEARCH_SCHEDULER`` set, the folds are tasks on the Dask cluster (each on one BLAS
thread, as on the threads here): the same bytes in ``metrics/cv.json`` and the out-of-fold table.
Below ``train.distributed_fit_from`` rows the two final fits are two tasks there too, the model's
evaluation log replayed here into its DVCLive curve; past it, each fit spreads over the workers
(:mod:`.distributed_fit`), one after the other.
The test queries are scored in chunks of :data:`QUERIES_PER_TASK` (:func:`test_scores`), here or
as cluster tasks (the model and the catalog's image side sent to each worker once): a query's
scores depend on its own vector only, and the chunks are the same either way.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from imagesearch.cluster import IN_PROCESS, Tasks, chunk_slices, cluster_client, map_in_order
from imagesearch.embedding.encoders.vl_common import zero_shot_cosine
from imagesearch.embedding.vectors import VectorSet
from imagesearch.modeling.distributed_fit import DistributedFit, EvalLog, FinishedFit, replay
from imagesearch.modeling.metrics import (curve_points, kendall_tau, ranking_report, ranks_of_gold,
                                          regression_report, safe_roc_auc)
from imagesearch.modeling.relevance import ModelConfig, RelevanceModel, TrainingSet

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class CrossValidation:
    oof: pd.DataFrame          # the pairs with a ``predicted`` column and their ``fold``
    ranks: np.ndarray          # gold ranks of held-out captions among held-out images
    metrics: dict


def image_folds(images: list[str], folds: int, seed: int) -> dict[str, int]:
    """Assign each image to one of ``folds`` groups, shuffled by ``seed``, sizes within one."""
    order = np.random.default_rng(seed).permutation(sorted(images))
    return {name: index % folds for index, name in enumerate(order)}


def cross_validate(pairs: pd.DataFrame, image_set: VectorSet, text_set: VectorSet,
                   config: ModelConfig, folds: int, match_threshold: float,
                   n_jobs: int = 1) -> CrossValidation:
    """Out-of-fold predictions and held-out ranks; ``n_jobs`` folds are fitted at once (threads:
    numpy, scikit-learn and XGBoost release the GIL). Folds are independent, so ``n_jobs`` changes
    nothing but the wall time (up to BLAS rounding, which one BLAS thread per fold can reorder)."""
    fold_of = image_folds(sorted(set(pairs["image"]) | set(pairs["query_image"])), folds, config.seed)
    image_fold = pairs["image"].map(fold_of).to_numpy()
    own_fold = pairs["query_image"].map(fold_of).to_numpy()

    def run_fold(fold: int) -> tuple[np.ndarray, np.ndarray]:
        train_rows = (image_fold != fold) & (own_fold != fold)
        model = RelevanceModel(config).fit(pairs.loc[train_rows], image_set, text_set)
        held = pairs.loc[image_fold == fold]
        predicted = model.score(image_set.take(list(held["image"])), text_set.take(list(held["query_id"])))
        return predicted, _held_out_ranks(model, pairs, fold_of, fold, image_set, text_set)

    with cluster_client() as client:
        if client is None:
            results = parallel_map(run_fold, range(folds), n_jobs, desc="cross-validation", unit="fold")
        else:
            results = map_in_order(client, on_one_blas_thread(run_fold), range(folds),
                                   desc="cross-validation (cluster)", describe=lambda fold: f"fold {fold}")
    predicted = np.full(len(pairs), np.nan, dtype=np.float32)
    for fold, (fold_predicted, _) in enumerate(results):
        predicted[image_fold == fold] = fold_predicted
    oof = pairs.assign(fold=image_fold, predicted=predicted)
    ranks = np.concatenate([fold_ranks for _, fold_ranks in results])
    return CrossValidation(oof, ranks, oof_metrics(oof, match_threshold, ranks))


def oof_curves(oof: pd.DataFrame, match_threshold: float) -> tuple[list[dict], list[dict]]:
    """ROC and precision-recall points of "experts say it matches" over the expert-judged pairs."""
    judged = oof.loc[oof["expert_mean"].notna()]
    return curve_points(judged["expert_mean"] >= match_threshold, judged["predicted"])


def fit_with_ablation(pairs: pd.DataFrame, image_set: VectorSet, text_set: VectorSet,
                      config: ModelConfig, n_jobs: int = 1,
                      callbacks: Sequence[Any] = (),
                      distributed: DistributedFit | None = None) -> tuple[RelevanceModel, RelevanceModel]:
    """The model, and the ablation's model without the joint space (evaluate compares them),
    fitted side by side on all ``pairs``: on threads here, as two tasks on a cluster, or one after
    the other through ``xgboost.dask`` past ``distributed.from_rows``; ``callbacks`` (XGBoost's)
    go to the model's fit only."""
    fits = [(config, callbacks), (dataclasses.replace(config, space="raw"), ())]
    on_cluster = distributed is not None and distributed.client is not None
    if on_cluster and not distributed.applies(TrainingSet.rows_at_most(pairs, config.negatives_per_caption)):
        return fits_as_tasks(distributed, pairs, image_set, text_set, config, callbacks)
    model, raw_model = parallel_map(
        lambda fit: RelevanceModel(fit[0]).fit(pairs, image_set, text_set, fit[1], distributed),
        fits, 1 if on_cluster else n_jobs, desc="final fits", unit="model")
    return model, raw_model


def fit_on_worker(fit: tuple[ModelConfig, bool, int], pairs: pd.DataFrame, image_set: VectorSet,
                  text_set: VectorSet) -> tuple[RelevanceModel, EvalLog | None]:
    """One cluster task: a final fit below ``train.distributed_fit_from`` rows (config, whether
    to log its evaluation, that threshold), on one BLAS thread as :func:`parallel_map` runs it."""
    config, logged, from_rows = fit
    evals = EvalLog() if logged else None
    with threadpool_limits(1):
        model = RelevanceModel(config).fit(pairs, image_set, text_set, [evals] if evals else (),
                                           DistributedFit(from_rows))
    return model, evals


def fits_as_tasks(distributed: DistributedFit, pairs: pd.DataFrame, image_set: VectorSet, text_set: VectorSet,
                  config: ModelConfig, callbacks: Sequence[Any]) -> tuple[RelevanceModel, RelevanceModel]:
    """:func:`fit_with_ablation`'s two fits as tasks on ``distributed.client``; the model's
    evaluation log is replayed into ``callbacks`` here (they write the stage's files)."""
    fits = [(config, bool(callbacks), distributed.from_rows),
            (dataclasses.replace(config, space="raw"), False, distributed.from_rows)]
    (model, evals), (raw_model, _) = map_in_order(
        distributed.client, fit_on_worker, fits, desc="final fits (cluster)",
        describe=lambda fit: f"the final fit of the {fit[0].space} model",
        shared={"pairs": pairs, "image_set": image_set, "text_set": text_set})
    if evals is not None:
        replay(callbacks, evals.evals_result, FinishedFit(evals.best_iteration))
    return model, raw_model


def parallel_map(function: Callable[[T], R], items: Iterable[T], n_jobs: int = 1,
                 **progress: Any) -> list[R]:
    """``[function(item) for item in items]`` on ``n_jobs`` threads, in order, with a progress bar.

    BLAS is held to one thread meanwhile, so that ``n_jobs`` workers use ``n_jobs`` cores.
    """
    items = list(items)
    with threadpool_limits(1 if n_jobs > 1 else None), ThreadPoolExecutor(max(1, n_jobs)) as pool:
        return list(tqdm(pool.map(function, items), total=len(items), **progress))


def on_one_blas_thread(function: Callable[[T], R]) -> Callable[[T], R]:
    """``function`` run with BLAS held to one thread, as :func:`parallel_map` runs it: a cluster
    task then computes the bytes a thread here does (and one task uses one core)."""
    def limited(item: T) -> R:
        with threadpool_limits(1):
            return function(item)
    return limited


def _held_out_ranks(model: RelevanceModel, pairs: pd.DataFrame, fold_of: dict[str, int], fold: int,
                    image_set: VectorSet, text_set: VectorSet) -> np.ndarray:
    held_images = sorted(name for name, f in fold_of.items() if f == fold)
    captions = pairs.drop_duplicates("query_id")
    captions = captions.loc[captions["query_image"].map(fold_of) == fold]
    if captions.empty:
        return np.array([], dtype=int)
    scores = model.score_grid(model.image_side(image_set.take(held_images)),
                              text_set.take(list(captions["query_id"])))
    column = {name: i for i, name in enumerate(held_images)}
    return ranks_of_gold(scores, captions["query_image"].map(column).to_numpy())


def oof_metrics(oof: pd.DataFrame, match_threshold: float, ranks: np.ndarray) -> dict:
    """The keys of metrics/cv.json: errors, ROC-AUC for "experts say it matches", agreement."""
    judged = oof.loc[oof["expert_mean"].notna()]
    crowd = oof.loc[oof["crowd_share"].notna()]
    report = regression_report(oof["target"].to_numpy(), oof["predicted"].to_numpy())
    report.update(
        roc_auc=safe_roc_auc(judged["expert_mean"] >= match_threshold, judged["predicted"]),
        kendall_tau_c_expert=kendall_tau(judged["predicted"], judged["expert_mean"], "c"),
        kendall_tau_b_crowd=kendall_tau(crowd["predicted"], crowd["crowd_share"], "b"),
        n_pairs=int(len(oof)), n_expert_pairs=int(len(judged)), n_crowd_pairs=int(len(crowd)),
        match_threshold=match_threshold,
        ranking={k: v for k, v in ranking_report(ranks).items()},
    )
    return report


#: Test queries per scoring task (a chunk's grid is queries x catalog images).
QUERIES_PER_TASK = 64


def score_on_worker(chunk: tuple[list[str], np.ndarray], model: RelevanceModel, image_side: Any) -> np.ndarray:
    """One task: (query ids, their text vectors) -> their scores against the catalog's image side."""
    return model.score_grid(image_side, chunk[1])


def test_scores(model: RelevanceModel, queries: pd.DataFrame, catalog: list[str], image_set: VectorSet,
                text_set: VectorSet, runner: Tasks = IN_PROCESS, image_side: Any = None) -> np.ndarray:
    """Scores of every test query (rows) against every catalog image (columns), in chunks of
    queries on ``runner``; ``image_side``: the model's side of the catalog, where already computed."""
    side = model.image_side(image_set.take(catalog)) if image_side is None else image_side
    ids = [str(i) for i in queries["query_id"]]
    vectors = text_set.take(ids)
    chunks = [(ids[part], vectors[part]) for part in chunk_slices(len(ids), QUERIES_PER_TASK)]
    parts = runner.map(score_on_worker, chunks, desc=f"score test queries ({model.config.space} model)",
                       describe=lambda chunk: f"{len(chunk[0])} queries from {chunk[0][0]}",
                       shared={"model": model, "image_side": side}, progress=False)
    return np.concatenate(parts) if parts else np.zeros((0, len(catalog)), dtype=np.float32)


def test_report(scores: np.ndarray, queries: pd.DataFrame, catalog: list[str],
                allowed_queries: np.ndarray, allowed_images: np.ndarray) -> tuple[dict, np.ndarray]:
    """metrics/test.json: ranking metrics on all queries over all catalog images, and under
    ``allowed`` the legally allowed queries ranked over the allowed images (what search serves)."""
    column = {name: i for i, name in enumerate(catalog)}
    gold = queries["image"].map(column).to_numpy()
    ranks = ranks_of_gold(scores, gold)
    report = ranking_report(ranks)
    allowed_column = np.cumsum(allowed_images) - 1
    allowed_ranks = ranks_of_gold(scores[allowed_queries][:, allowed_images],
                                  allowed_column[gold[allowed_queries]])
    report["allowed"] = ranking_report(allowed_ranks)
    return report, ranks


def ablation_scores(model: RelevanceModel, raw_model: RelevanceModel, queries: pd.DataFrame,
                    catalog: list[str], image_set: VectorSet, text_set: VectorSet,
                    seed: int, runner: Tasks = IN_PROCESS) -> dict[str, np.ndarray]:
    """Test-set score grids of the ablation: what each part of the model adds.

    ``random``: chance; ``joint_cosine``: the image→text ridge cosine alone; ``caption_knn``: the
    caption-neighbour route alone; ``xgboost_raw``: XGBoost on reduced raw vectors, no joint space;
    ``vl_cosine`` (with a vision–language model on both sides only): that model's own cosine
    alone; ``full``: the model.
    """
    image_side = model.image_side(image_set.take(catalog))
    text_side = model.space.text_side(text_set.take(list(queries["query_id"])))
    own_cosine = {"vl_cosine": zero_shot_cosine(image_side.vl, text_side.text).T} if hasattr(image_side, "vl") else {}
    return {
        "random": np.random.default_rng(seed).random((len(queries), len(catalog))),
        "joint_cosine": text_side.text @ image_side.mapped.T,
        "caption_knn": text_side.knn @ image_side.standard.T,
        **own_cosine,
        "xgboost_raw": test_scores(raw_model, queries, catalog, image_set, text_set, runner),
        "full": test_scores(model, queries, catalog, image_set, text_set, runner, image_side),
    }


@dataclass
class Evaluation:
    """The test ranking of every ablation variant; ``variants["full"]`` is metrics/test.json."""

    variants: dict[str, dict]            # variant -> test_report (metrics/ablation.json "variants")
    scores: np.ndarray                   # the full model's scores, (n_queries, n_catalog)
    variant_ranks: dict[str, np.ndarray]  # variant -> gold ranks over the whole catalog

    @property
    def ranks(self) -> np.ndarray:
        """The full model's gold ranks over the whole catalog."""
        return self.variant_ranks["full"]


def allowed_masks(queries: pd.DataFrame, catalog: list[str], blocked_queries: set[str],
                  blocked_images: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """What search serves: queries neither blocked nor about a blocked image; unblocked images."""
    allowed_queries = (~queries["query_id"].isin(blocked_queries)
                       & ~queries["image"].isin(blocked_images)).to_numpy()
    allowed_images = ~np.isin(catalog, list(blocked_images))
    return allowed_queries, allowed_images


def evaluate_test(model: RelevanceModel, raw_model: RelevanceModel, queries: pd.DataFrame,
                  catalog: list[str], image_set: VectorSet, text_set: VectorSet,
                  blocked_queries: set[str], blocked_images: set[str], seed: int,
                  runner: Tasks = IN_PROCESS) -> Evaluation:
    """Every ablation variant ranked on the test queries, over all and over the allowed ones;
    the model's score grids computed on ``runner`` (in this process or a cluster's tasks)."""
    allowed_queries, allowed_images = allowed_masks(queries, catalog, blocked_queries, blocked_images)
    grids = ablation_scores(model, raw_model, queries, catalog, image_set, text_set, seed, runner)
    variants, ranks = {}, {}
    for name, scores in grids.items():
        variants[name], ranks[name] = test_report(scores, queries, catalog, allowed_queries, allowed_images)
    return Evaluation(variants, grids["full"], ranks)


def language_report(model: RelevanceModel, queries: pd.DataFrame, catalog: list[str], image_set: VectorSet,
                    translated: VectorSet, blocked_queries: set[str], blocked_images: set[str],
                    english: dict, runner: Tasks = IN_PROCESS) -> dict:
    """The test report of the same queries in another language (``translated``: their vectors,
    ids = query_id), with ``gap_to_english``: its R@k and MRR minus the English ones (all and
    allowed). The allowed queries are those of English: the same photos, the same legal verdicts."""
    allowed_queries, allowed_images = allowed_masks(queries, catalog, blocked_queries, blocked_images)
    report, _ = test_report(test_scores(model, queries, catalog, image_set, translated, runner), queries, catalog,
                            allowed_queries, allowed_images)
    keys = [key for key, value in report.items() if isinstance(value, float)]
    report["gap_to_english"] = {key: round(report[key] - english[key], 4) for key in keys}
    report["gap_to_english"]["allowed"] = {key: round(report["allowed"][key] - english["allowed"][key], 4)
                                           for key in keys if key in english["allowed"]}
    return report

