"""Grouped cross-validation and the test report on a planted relation."""
import numpy as np
import pandas as pd

from imagesearch.modeling import evaluation
from imagesearch.modeling.evaluation import cross_validate, image_folds
from tests.test_model import SMALL
from tests.synthetic_pairs import planted

CV_KEYS = {"rmse", "mae", "roc_auc", "kendall_tau_c_expert", "kendall_tau_b_crowd", "ranking"}


def test_image_folds_are_balanced_and_deterministic():
    images = [f"i{k}" for k in range(23)]
    folds = image_folds(images, 5, seed=3)
    assert folds == image_folds(images, 5, seed=3)
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 1


def test_cross_validation_predicts_each_pair_once_and_beats_chance():
    pairs, image_set, text_set, _, _ = planted(n_images=90, n_test=0)
    cv = cross_validate(pairs, image_set, text_set, SMALL, folds=3, match_threshold=3.0)
    assert CV_KEYS <= set(cv.metrics)
    assert cv.oof["predicted"].notna().all() and len(cv.oof) == len(pairs)
    assert cv.oof["predicted"].between(0, 1).all()
    # a pair's fold is its image's fold: predicted by a model that never saw that image
    assert (cv.oof["fold"] == cv.oof["image"].map(image_folds(sorted(set(pairs["image"])), 3, SMALL.seed))).all()
    assert cv.metrics["roc_auc"] > 0.6
    assert len(cv.ranks) == pairs["query_id"].nunique()
    assert cv.metrics["ranking"]["recall_at_1"] > 3 / 30  # chance is about 1/30


def test_folds_on_threads_give_the_same_result_as_one_at_a_time():
    """train fits the folds on threads: the out-of-fold predictions, ranks and metrics must not
    depend on how many run at once (nor on the run: the joint space's PCA is seeded)."""
    pairs, image_set, text_set, _, _ = planted(n_images=60, n_test=0)
    serial = cross_validate(pairs, image_set, text_set, SMALL, folds=3, match_threshold=3.0, n_jobs=1)
    threaded = cross_validate(pairs, image_set, text_set, SMALL, folds=3, match_threshold=3.0, n_jobs=3)
    np.testing.assert_array_equal(serial.oof["predicted"].to_numpy(), threaded.oof["predicted"].to_numpy())
    np.testing.assert_array_equal(serial.ranks, threaded.ranks)
    assert serial.metrics == threaded.metrics


def test_parallel_map_keeps_the_input_order():
    assert evaluation.parallel_map(lambda x: x * x, range(7), n_jobs=3, disable=True) == [
        0, 1, 4, 9, 16, 25, 36]


def test_test_report_ranks_all_and_allowed():
    queries = pd.DataFrame({"query_id": ["a", "b", "c"], "image": ["x", "y", "z"]})
    catalog = ["x", "y", "z"]
    scores = np.array([[0.9, 0.1, 0.2], [0.8, 0.5, 0.1], [0.1, 0.2, 0.3]])
    report, ranks = evaluation.test_report(scores, queries, catalog, np.array([False, True, True]),
                                           np.array([False, True, True]))
    assert list(ranks) == [1, 2, 1]
    assert report["recall_at_1"] == 2 / 3
    # allowed: queries b and c over images y and z, where each one's image comes first
    assert report["allowed"]["n_queries"] == 2 and report["allowed"]["recall_at_1"] == 1.0
