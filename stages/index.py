"""DVC stage index: the model + the allowed catalog images -> data/index for the CLI and web page."""
import logging

import pandas as pd

from imagesearch import paths
from imagesearch.cluster import tasks
from imagesearch.data.catalog import catalog_images
from imagesearch.embedding.vectors import load_vectors
from imagesearch.params import SearchParams
from imagesearch.serving.index import IndexParts, build_index
from imagesearch.stage import run


def main(params: SearchParams) -> None:
    images = pd.read_parquet(paths.IMAGES)
    blocked = set(pd.read_parquet(paths.BLOCKED_IMAGES)["image"])
    with tasks() as runner:  # the image side's chunks: here, or on IMAGESEARCH_SCHEDULER's cluster
        manifest = build_index(paths.INDEX, IndexParts.of_pipeline(), catalog_images(images),
                               load_vectors(paths.IMAGE_VECTORS), blocked, params,
                               seen_photos=images[["image", "sha256"]], runner=runner)
    logging.info("index: %s", manifest)


if __name__ == "__main__":
    run("index", main)
