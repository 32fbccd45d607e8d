"""DVC stage train: grouped cross-validation (metrics/detail/cv.json and its headline, ROC/PR plots), then the final model
(its training curve by DVCLive in metrics/training) and the ablation's raw-space model."""
import logging
import os

import pandas as pd

from imagesearch import paths
from imagesearch.atomic import atomic_path, write_csv, write_json, write_parquet
from imagesearch.cluster import cluster_client
from imagesearch.embedding.vectors import load_vectors
from imagesearch.modeling.curves import TrainingCurve
from imagesearch.modeling.distributed_fit import DistributedFit
from imagesearch.modeling.evaluation import cross_validate, fit_with_ablation, oof_curves
from imagesearch.modeling.headline import headline_of
from imagesearch.modeling.relevance import ModelConfig
from imagesearch.params import TrainParams
from imagesearch.stage import run


def main(params: TrainParams) -> None:
    config = ModelConfig.from_params(params)
    n_jobs = os.cpu_count() or 1  # folds (and the two final fits) on threads, XGBoost on one each
    pairs = pd.read_parquet(paths.ALLOWED_PAIRS)
    images, texts = load_vectors(paths.IMAGE_VECTORS), load_vectors(paths.TEXT_VECTORS)

    cv = cross_validate(pairs, images, texts, config, params.folds, params.match_threshold, n_jobs=n_jobs)
    logging.info("cross-validation: %s", cv.metrics)
    roc, pr = oof_curves(cv.oof, params.match_threshold)
    write_csv(paths.CV_ROC, pd.DataFrame(roc))
    write_csv(paths.CV_PRECISION_RECALL, pd.DataFrame(pr))
    write_parquet(paths.OOF, cv.oof)
    write_json(paths.CV_DETAIL, cv.metrics)
    write_json(paths.CV_METRICS, headline_of(str(paths.CV_METRICS), cv.metrics))

    with cluster_client() as client, atomic_path(paths.TRAINING_CURVE) as curve_folder:
        model, raw_model = fit_with_ablation(pairs, images, texts, config, n_jobs,
                                             callbacks=[TrainingCurve(curve_folder)],
                                             distributed=DistributedFit(params.distributed_fit_from, client))
    model.save(paths.MODEL)
    raw_model.save(paths.RAW_MODEL)


if __name__ == "__main__":
    run("train", main)
