"""DVC stage evaluate: the test ranking (metrics/test.json), the ablation, plots and the gallery."""
import logging

import numpy as np
import pandas as pd

from imagesearch import paths
from imagesearch.atomic import write_csv, write_json
from imagesearch.modeling.evaluation import ablation_scores, test_report
from imagesearch.modeling.gallery import GalleryRow, render_gallery
from imagesearch.modeling.metrics import recall_curve
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.stage import start
from imagesearch.embedding.vectors import load_vectors


def main() -> None:
    params = start("evaluate")
    model = RelevanceModel.load(paths.MODEL)
    raw_model = RelevanceModel.load(paths.RAW_MODEL)
    image_set, text_set = load_vectors(paths.IMAGE_VECTORS), load_vectors(paths.TEXT_VECTORS)
    images = pd.read_parquet(paths.IMAGES)
    catalog_frame = images.loc[images["split"] == "test"].sort_values("image")
    catalog = list(catalog_frame["image"])
    queries = pd.read_parquet(paths.TEST_QUERIES)
    blocked_images = set(pd.read_parquet(paths.BLOCKED_IMAGES)["image"])
    blocked_queries = set(pd.read_parquet(paths.BLOCKED_QUERIES)["query_id"])
    allowed_queries = (~queries["query_id"].isin(blocked_queries) & ~queries["image"].isin(blocked_images)).to_numpy()
    allowed_images = ~np.isin(catalog, list(blocked_images))

    grids = ablation_scores(model, raw_model, queries, catalog, image_set, text_set, params.seed)
    ablation = {}
    for name, scores in grids.items():
        report, ranks = test_report(scores, queries, catalog, allowed_queries, allowed_images)
        ablation[name] = report
        if name == "full":
            write_json(paths.TEST_METRICS, report)
            write_csv(paths.PLOTS / "recall_at_k.csv", pd.DataFrame(recall_curve(ranks, 20)))
            full_scores = scores
    write_json(paths.ABLATION, {"image_encoder": image_set.encoder, "text_encoder": text_set.encoder,
                                "variants": ablation})
    logging.info("test: %s", ablation["full"])

    rng = np.random.default_rng(params.seed)
    rows = []
    for q in sorted(rng.choice(len(queries), size=min(params.gallery_queries, len(queries)), replace=False)):
        top = np.argsort(-full_scores[q], kind="stable")[: params.gallery_top_k]
        rows.append(GalleryRow(
            query=queries["query_text"].iloc[q], gold_image=queries["image"].iloc[q],
            blocked_query=queries["query_id"].iloc[q] in blocked_queries,
            hits=[(catalog[i], float(full_scores[q, i]), catalog[i] in blocked_images) for i in top]))
    render_gallery(rows, dict(zip(catalog_frame["image"], catalog_frame["path"])), paths.PLOTS / "gallery.png")


if __name__ == "__main__":
    main()
