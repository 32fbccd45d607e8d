"""DVC stage fetch_data: put the verified raw dataset into data/raw (see imagesearch.data.fetch)."""
from imagesearch import paths
from imagesearch.data.fetch import fetch_dataset
from imagesearch.stage import start


def main() -> None:
    params = start("data")
    fetch_dataset(paths.RAW, params.source, params.url, paths.DATASET_CHECKSUMS)


if __name__ == "__main__":
    main()
