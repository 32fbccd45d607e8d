"""Grouped cross-validation and the test report on a planted relation."""
import numpy as np
import pandas as pd

from imagesearch.modeling import evaluation
from imagesearch.modeling.evaluation import cross_validate, image_folds
from imagesearch.modeling.gallery import GalleryRow, sample_gallery_rows
from imagesearch.modeling.joint_space import JointSpace, RawSpace
from tests.synthetic_pairs import planted, small_config

SMALL = small_config()

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


def test_allowed_masks_drop_blocked_queries_their_images_and_blocked_images():
    queries = pd.DataFrame({"query_id": ["a", "b", "c", "d"], "image": ["x", "y", "z", "x"]})
    allowed_queries, allowed_images = evaluation.allowed_masks(queries, ["x", "y", "z"], {"b"}, {"z"})
    assert allowed_queries.tolist() == [True, False, False, True]   # c: its image is blocked
    assert allowed_images.tolist() == [True, True, False]


def test_final_fits_and_the_test_evaluation():
    """train's two final models (joint and raw), then evaluate's report of every variant."""
    pairs, image_set, text_set, test_images, test_queries = planted(n_images=60, n_test=12)
    model, raw_model = evaluation.fit_with_ablation(pairs, image_set, text_set, SMALL, n_jobs=2)
    assert isinstance(model.space, JointSpace) and isinstance(raw_model.space, RawSpace)
    queries = pd.DataFrame({"query_id": test_queries, "image": test_images})
    catalog = sorted(test_images)
    blocked_queries, blocked_images = {test_queries[0]}, {test_images[1]}
    test = evaluation.evaluate_test(model, raw_model, queries, catalog, image_set, text_set,
                                    blocked_queries, blocked_images, seed=0)
    assert list(test.variants) == ["random", "joint_cosine", "caption_knn", "xgboost_raw", "full"]
    full = evaluation.test_scores(model, queries, catalog, image_set, text_set)
    np.testing.assert_array_equal(test.scores, full)
    masks = evaluation.allowed_masks(queries, catalog, blocked_queries, blocked_images)
    report, ranks = evaluation.test_report(test.scores, queries, catalog, *masks)
    assert test.variants["full"] == report and np.array_equal(test.ranks, ranks)
    assert test.variants["full"]["allowed"]["n_queries"] == len(queries) - 2


def test_oof_curves_use_the_expert_judged_pairs():
    oof = pd.DataFrame({"expert_mean": [4.0, 1.0, np.nan, 3.5, 1.5],
                        "predicted": [0.9, 0.2, 0.99, 0.7, 0.4]})
    roc, pr = evaluation.oof_curves(oof, match_threshold=3.0)
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0} and roc[-1] == {"fpr": 1.0, "tpr": 1.0}
    assert max(p["precision"] for p in pr) == 1.0


def test_gallery_rows_are_seeded_in_row_order_with_top_k_and_blocked_flags():
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(6)], "image": ["a", "b", "c", "a", "b", "c"],
                            "query_text": [f"text {i}" for i in range(6)]})
    catalog = ["a", "b", "c"]
    scores = np.random.default_rng(1).random((6, 3))
    rows = sample_gallery_rows(scores, queries, catalog, {"q2"}, {"b"}, n_queries=4, top_k=2, seed=5)
    assert rows == sample_gallery_rows(scores, queries, catalog, {"q2"}, {"b"}, 4, 2, 5)
    picked = sorted(np.random.default_rng(5).choice(6, size=4, replace=False))
    assert [r.query for r in rows] == [f"text {q}" for q in picked]
    for q, row in zip(picked, rows):
        assert isinstance(row, GalleryRow) and row.gold_image == queries["image"][q]
        assert row.blocked_query == (q == 2)
        order = np.argsort(-scores[q], kind="stable")[:2]
        assert row.hits == [(catalog[i], float(scores[q, i]), catalog[i] == "b") for i in order]
    everything = sample_gallery_rows(scores, queries, catalog, set(), set(), n_queries=50, top_k=9, seed=0)
    assert len(everything) == 6 and all(len(row.hits) == 3 for row in everything)
