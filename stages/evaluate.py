"""DVC stage evaluate: the test ranking (metrics/detail/test.json and its headline), the ablation, plots and the gallery."""
import logging

import pandas as pd

from imagesearch import paths
from imagesearch.atomic import write_csv, write_json
from imagesearch.cluster import tasks
from imagesearch.data.catalog import catalog_images
from imagesearch.embedding.vectors import load_vectors
from imagesearch.modeling.evaluation import evaluate_test, language_report
from imagesearch.modeling.gallery import render_gallery, sample_gallery_rows
from imagesearch.modeling.headline import headline_of
from imagesearch.modeling.metrics import recall_curve
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.params import EvaluateParams, SearchParams
from imagesearch.serving.served import served_report
from imagesearch.stage import run


def main(params: EvaluateParams, search: SearchParams) -> None:
    model = RelevanceModel.load(paths.MODEL)
    raw_model = RelevanceModel.load(paths.RAW_MODEL)
    image_set, text_set = load_vectors(paths.IMAGE_VECTORS), load_vectors(paths.TEXT_VECTORS)
    images = pd.read_parquet(paths.IMAGES)
    catalog_frame = catalog_images(images)
    catalog = list(catalog_frame["image"])
    queries = pd.read_parquet(paths.TEST_QUERIES)
    blocked_images = set(pd.read_parquet(paths.BLOCKED_IMAGES)["image"])
    blocked_queries = set(pd.read_parquet(paths.BLOCKED_QUERIES)["query_id"])

    with tasks() as runner:  # the score grids, the served search's image side: here or on the cluster
        test = evaluate_test(model, raw_model, queries, catalog, image_set, text_set, blocked_queries,
                             blocked_images, params.seed, runner)
        russian = language_report(model, queries, catalog, image_set, load_vectors(paths.RUSSIAN_QUERY_VECTORS),
                                  blocked_queries, blocked_images, test.variants["full"], runner)
        served = served_report(model, queries, catalog, image_set, text_set, blocked_queries, blocked_images,
                               search, runner)
    report = {**test.variants["full"], "russian": russian, **({"allowed_served": served} if served else {})}
    write_json(paths.TEST_DETAIL, report)
    write_json(paths.TEST_METRICS, headline_of(str(paths.TEST_METRICS), report))
    others = {name: ranks for name, ranks in test.variant_ranks.items() if name != "full"}
    write_csv(paths.RECALL_AT_K, pd.DataFrame(recall_curve(test.ranks, 20, others)))
    write_json(paths.ABLATION, {"image_encoder": image_set.encoder, "text_encoder": text_set.encoder,
                                "variants": test.variants})
    logging.info("test: %s", test.variants["full"])

    rows = sample_gallery_rows(test.scores, queries, catalog, blocked_queries, blocked_images,
                               params.gallery_queries, params.gallery_top_k, params.seed)
    render_gallery(rows, dict(zip(catalog_frame["image"], catalog_frame["path"])), paths.GALLERY)


if __name__ == "__main__":
    run("evaluate", main, "index")
