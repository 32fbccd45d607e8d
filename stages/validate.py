"""DVC stage validate: raw tables and images -> clean typed tables + data_quality.json.

Outputs are written only after everything is validated, each atomically: a whole unusable input
file ends the stage with one line naming it (imagesearch.stage) and nothing written.
"""
import logging

from imagesearch import paths
from imagesearch.atomic import write_csv, write_json, write_parquet
from imagesearch.data.validate import validate_dataset
from imagesearch.params import ValidateParams
from imagesearch.stage import run


def main(params: ValidateParams) -> None:
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
    run("validate", main)
