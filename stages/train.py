"""DVC stage train: grouped cross-validation (metrics/cv.json, ROC/PR plots), then the final model."""
import logging

import pandas as pd

from imagesearch import paths
from imagesearch.atomic import write_csv, write_json, write_parquet
from imagesearch.evaluation import cross_validate
from imagesearch.metrics import curve_points
from imagesearch.model import ModelConfig, RelevanceModel
from imagesearch.stage import start
from imagesearch.vectors import load_vectors


def main() -> None:
    params = start("train")
    config = ModelConfig(ridge_alpha=params.ridge_alpha, seed=params.seed,
                         negatives_per_caption=params.negatives_per_caption, monotone=params.monotone,
                         weights=params.weights.model_dump(), xgb=params.xgb.model_dump())
    pairs = pd.read_parquet(paths.ALLOWED_PAIRS)
    images, texts = load_vectors(paths.IMAGE_VECTORS), load_vectors(paths.TEXT_VECTORS)

    cv = cross_validate(pairs, images, texts, config, params.folds, params.match_threshold)
    logging.info("cross-validation: %s", cv.metrics)
    judged = cv.oof.loc[cv.oof["expert_mean"].notna()]
    roc, pr = curve_points(judged["expert_mean"] >= params.match_threshold, judged["predicted"])
    write_csv(paths.PLOTS / "cv_roc.csv", pd.DataFrame(roc))
    write_csv(paths.PLOTS / "cv_precision_recall.csv", pd.DataFrame(pr))
    write_parquet(paths.OOF, cv.oof)
    write_json(paths.CV_METRICS, cv.metrics)

    RelevanceModel(config).fit(pairs, images, texts).save(paths.MODEL)


if __name__ == "__main__":
    main()
