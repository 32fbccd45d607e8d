"""DVC stage embed_texts: captions and test queries -> vectors; the fitted encoder for search."""
import logging
import time

from imagesearch.embedding.texts import embed_text_table
from imagesearch.stage import start


def main() -> None:
    params = start("embed_texts")
    began = time.perf_counter()
    embed_text_table(params.model_dump())
    logging.info("embed_texts took %.2f s", time.perf_counter() - began)


if __name__ == "__main__":
    main()
