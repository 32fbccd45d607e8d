"""DVC stage labels: expert scores + crowd votes + own-image captions -> one target per pair."""
import pandas as pd

from imagesearch import paths
from imagesearch.atomic import write_json, write_parquet
from imagesearch.data.labels import aggregate, agreement
from imagesearch.params import LabelsParams
from imagesearch.stage import run


def main(params: LabelsParams) -> None:
    expert = pd.read_parquet(paths.EXPERT)
    crowd = pd.read_parquet(paths.CROWD)
    pairs, counts = aggregate(expert, crowd, pd.read_parquet(paths.CAPTIONS), params.strategy,
                              params.expert_weight, params.own_image_target)
    write_parquet(paths.LABELLED_PAIRS, pairs)
    write_json(paths.LABELS_METRICS, {"counts": counts, "agreement": agreement(expert, crowd),
                                      "target_mean": float(pairs["target"].mean())})


if __name__ == "__main__":
    run("labels", main)
