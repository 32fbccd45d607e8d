"""DVC stage fetch_data: put the verified raw dataset into data/raw (see imagesearch.data.fetch)."""
from imagesearch import paths
from imagesearch.data.fetch import fetch_dataset
from imagesearch.params import DataParams
from imagesearch.stage import run


def main(params: DataParams) -> None:
    fetch_dataset(paths.RAW, params.source, params.url, paths.DATASET_CHECKSUMS)


if __name__ == "__main__":
    run("fetch_data", main)
