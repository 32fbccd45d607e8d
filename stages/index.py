"""DVC stage index: the model + the allowed catalog images -> data/index for the CLI and web page."""
import logging

import pandas as pd

from imagesearch import paths
from imagesearch.serving.index import build_index
from imagesearch.stage import start
from imagesearch.embedding.vectors import load_vectors


def main() -> None:
    params = start("index")
    images = pd.read_parquet(paths.IMAGES)
    blocked = set(pd.read_parquet(paths.BLOCKED_IMAGES)["image"])
    manifest = build_index(paths.INDEX, paths.MODEL, paths.TEXT_ENCODER,
                           images.loc[images["split"] == "test"], load_vectors(paths.IMAGE_VECTORS), blocked,
                           visual_classifier=paths.VISUAL_CLASSIFIER, seen_photos=images[["image", "sha256"]],
                           crosslingual_rule=paths.CROSSLINGUAL_RULE, query_aligner=paths.QUERY_ALIGNER,
                           search=params)
    logging.info("index: %s", manifest)


if __name__ == "__main__":
    main()
