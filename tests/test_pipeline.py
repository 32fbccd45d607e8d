"""The whole pipeline under `dvc repro` in a real temporary git + DVC repo, on the tiny dataset."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline_repo import copy_repo, dvc, set_param

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repro_repo(tmp_path_factory: pytest.TempPathFactory, built_pipeline: Path) -> Path:
    return copy_repo(built_pipeline, tmp_path_factory.mktemp("pipeline") / "repo")


def test_repro_writes_every_output(repro_repo: Path) -> None:
    quality = json.loads((repro_repo / "metrics/data_quality.json").read_text())
    for table, counts in quality.items():
        assert counts["rows_in"] == counts["rows_kept"] + counts["rows_quarantined"], table
    test = json.loads((repro_repo / "metrics/detail/test.json").read_text())
    assert test["n_queries"] == 13
    assert {"recall_at_1", "recall_at_5", "recall_at_10", "mrr", "median_rank"} <= set(test)
    assert set(test["allowed"]) == set(test) - {"allowed", "russian"}
    # the same queries in Russian, ranked through the query map, with their gap to English
    assert set(test["russian"]) == set(test) - {"russian"} | {"gap_to_english"}
    assert set(test["russian"]["gap_to_english"]["allowed"]) == set(test["allowed"]) - {"n_queries"}
    cv = json.loads((repro_repo / "metrics/detail/cv.json").read_text())
    assert {"rmse", "mae", "roc_auc", "kendall_tau_c_expert", "kendall_tau_b_crowd"} <= set(cv)
    # the declared metrics are the headline only, picked from the detail
    headline = json.loads((repro_repo / "metrics/test.json").read_text())
    assert headline == {"test_mrr": test["allowed"]["mrr"], "test_r1": test["allowed"]["recall_at_1"],
                        "test_r10": test["allowed"]["recall_at_10"]}
    assert json.loads((repro_repo / "metrics/cv.json").read_text()) == {
        "cv_mrr": cv["ranking"]["mrr"], "cv_roc_auc": cv["roc_auc"]}
    assert (repro_repo / "metrics/plots/gallery.png").stat().st_size > 1000
    catalog = pd.read_parquet(repro_repo / "data/index/catalog.parquet")
    blocked = set(pd.read_parquet(repro_repo / "data/legal/blocked_images.parquet")["image"])
    assert len(catalog) > 0 and not set(catalog["image"]) & blocked
    assert (repro_repo / "dvc.lock").is_file()


def test_second_repro_recomputes_nothing(repro_repo: Path) -> None:
    result = dvc(repro_repo, "repro")
    assert "Running stage" not in result.stdout, result.stdout
    assert "up to date" in result.stdout


def test_train_param_change_reruns_only_training_and_after(repro_repo: Path) -> None:
    set_param(repro_repo, ("train", "xgb", "max_depth"), 2)
    try:
        status = json.loads(dvc(repro_repo, "status", "--json").stdout)
        assert set(status) == {"train"}, status
        log = dvc(repro_repo, "repro").stdout
        ran = {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage")}
        assert ran == {"train", "evaluate", "index"}, log
    finally:
        set_param(repro_repo, ("train", "xgb", "max_depth"), 4)
        dvc(repro_repo, "repro")
