"""DVC stage embed_images: every clean image -> one L2-normalised vector (cached by content)."""
import logging
import time

from imagesearch.embedding.images import embed_image_table
from imagesearch.stage import start


def main() -> None:
    params = start("embed_images")
    began = time.perf_counter()
    embed_image_table(params.model_dump())
    logging.info("embed_images took %.2f s", time.perf_counter() - began)


if __name__ == "__main__":
    main()
