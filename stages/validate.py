"""DVC stage validate: raw tables and images -> clean typed tables + data_quality.json.

Bad params or a whole unusable input file end the stage with one line naming the key or the
file, line and problem, and exit status 1; nothing is written (outputs are written only after
everything is validated, each atomically).
"""
import logging
import sys

from imagesearch import paths
from imagesearch.atomic import write_csv, write_json, write_parquet
from imagesearch.data.validate import DataError, validate_dataset
from imagesearch.params import ParamsError
from imagesearch.stage import start


def main() -> None:
    params = start("validate")
    clean = validate_dataset(paths.RAW, params.min_image_side, params.max_image_pixels)
    report = clean.quality_report()
    for name, frame in [(paths.IMAGES, clean.images), (paths.CAPTIONS, clean.captions),
                        (paths.TRAIN_PAIRS, clean.train_pairs), (paths.EXPERT, clean.expert),
                        (paths.CROWD, clean.crowd), (paths.TEST_QUERIES, clean.test_queries)]:
        write_parquet(name, frame)
    write_csv(paths.QUARANTINE, clean.quarantine.frame())
    write_json(paths.DATA_QUALITY, report)
    for table, counts in report.items():
        logging.info("%s: %d in, %d kept, %s", table, counts["rows_in"], counts["rows_kept"],
                     counts["reasons"] or "nothing quarantined")


if __name__ == "__main__":
    try:
        main()
    except (DataError, ParamsError) as err:
        print(f"validate: error: {err}", file=sys.stderr)
        sys.exit(1)
