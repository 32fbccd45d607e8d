"""DVC stage train: grouped cross-validation (metrics/cv.json, ROC/PR plots), then the final model
and the ablation's raw-space model."""
import dataclasses
import logging
import os

import pandas as pd

from imagesearch import paths
from imagesearch.atomic import write_csv, write_json, write_parquet
from imagesearch.modeling.evaluation import cross_validate, parallel_map
from imagesearch.modeling.metrics import curve_points
from imagesearch.modeling.relevance import ModelConfig, RelevanceModel
from imagesearch.stage import start
from imagesearch.embedding.vectors import load_vectors


def main() -> None:
    params = start("train")
    config = ModelConfig(ridge_alpha=params.ridge_alpha, seed=params.seed,
                         negatives_per_caption=params.negatives_per_caption, monotone=params.monotone,
                         weights=params.weights.model_dump(), xgb=params.xgb.model_dump())
    n_jobs = os.cpu_count() or 1
    pairs = pd.read_parquet(paths.ALLOWED_PAIRS)
    images, texts = load_vectors(paths.IMAGE_VECTORS), load_vectors(paths.TEXT_VECTORS)

    cv = cross_validate(pairs, images, texts, config, params.folds, params.match_threshold,
                        n_jobs=n_jobs)
    logging.info("cross-validation: %s", cv.metrics)
    judged = cv.oof.loc[cv.oof["expert_mean"].notna()]
    roc, pr = curve_points(judged["expert_mean"] >= params.match_threshold, judged["predicted"])
    write_csv(paths.PLOTS / "cv_roc.csv", pd.DataFrame(roc))
    write_csv(paths.PLOTS / "cv_precision_recall.csv", pd.DataFrame(pr))
    write_parquet(paths.OOF, cv.oof)
    write_json(paths.CV_METRICS, cv.metrics)

    # the model, and the ablation's model without the joint space (evaluate compares them), side by side
    configs = {paths.MODEL: config, paths.RAW_MODEL: dataclasses.replace(config, space="raw")}
    models = parallel_map(lambda c: RelevanceModel(c).fit(pairs, images, texts), configs.values(),
                          n_jobs, desc="final fits", unit="model")
    for folder, model in zip(configs, models):
        model.save(folder)


if __name__ == "__main__":
    main()
