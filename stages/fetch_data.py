"""DVC stage fetch_data: put the verified raw dataset into data/raw (see imagesearch.data.fetch)."""
import logging
import sys

from imagesearch import paths
from imagesearch.data.fetch import DatasetError, fetch_dataset
from imagesearch.stage import start


def main() -> int:
    params = start("data")
    try:
        fetch_dataset(paths.RAW, params.source, params.url, paths.DATASET_CHECKSUMS)
    except DatasetError as err:  # one clear message, no traceback; data/raw is left as it was
        logging.error("fetch_data: %s (`dvc checkout data/raw` restores the last good copy)", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
