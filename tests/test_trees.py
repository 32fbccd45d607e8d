"""The numpy evaluator of XGBoost's trees and the space's numpy transforms give scikit-learn's and
XGBoost's bits: on fitted toy models, and on the pipeline's own model over every test query x catalog image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge

from imagesearch.modeling.joint_space import linear_map, pca_transform
from imagesearch.modeling.trees import TreeEnsemble, UnsupportedBooster, expf

REPO = Path(__file__).resolve().parents[1]


def table(rows: int, columns: int = 6, seed: int = 0, missing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns)).astype(np.float32)
    y = 1 / (1 + np.exp(-(x[:, 0] * 2 - x[:, 1] * x[:, 2] + 0.3 * rng.normal(size=rows))))
    x[rng.random(x.shape) < missing] = np.nan
    return x, y.astype(np.float32)


def bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, np.float32).view(np.int32)


@pytest.mark.parametrize("objective", ["reg:logistic", "reg:squarederror", "binary:logistic"])
@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_predictions_are_xgboosts_bits(objective, missing):
    x, y = table(3000, missing=missing)
    target = (y > 0.5).astype(np.float32) if objective == "binary:logistic" else y
    booster = xgb.train({"objective": objective, "max_depth": 5, "eta": 0.1, "subsample": 0.8, "seed": 0,
                         "tree_method": "hist", "nthread": 1}, xgb.DMatrix(x, target), num_boost_round=120)
    probe, _ = table(2_000, seed=1, missing=missing)  # more rows than one block
    trees = TreeEnsemble.from_json(booster.save_raw("json"))
    assert len(trees) == 120
    assert np.array_equal(bits(trees.predict(probe)), bits(booster.predict(xgb.DMatrix(probe))))


@pytest.mark.parametrize(("params", "mask_bits"), [
    ({"max_depth": 1}, 8), ({"max_depth": 4}, 16), ({"max_depth": 6}, 64),
    ({"max_depth": 3, "gamma": 0.5}, 8),  # stumps (a lone leaf) among deeper trees
    ({"max_depth": 0, "grow_policy": "lossguide", "max_leaves": 24}, 32),  # uneven depths
    ({"max_depth": 9}, None),  # more than 64 leaves: walked level by level
])
def test_every_tree_size_gives_xgboosts_bits_with_missing_values_and_single_rows(params, mask_bits):
    x, y = table(4000, missing=0.1)
    booster = xgb.train({"objective": "reg:logistic", "eta": 0.3, "min_child_weight": 0.1, "seed": 0,
                         "tree_method": "hist", "nthread": 1, **params}, xgb.DMatrix(x, y), num_boost_round=40)
    trees = TreeEnsemble.from_json(booster.save_raw("json"))
    assert (trees.masks.table.dtype.itemsize * 8 if trees.masks is not None else None) == mask_bits
    if "gamma" in params:
        assert 0 < (trees.left[:, 0] == 0).sum() < len(trees)
    probe, _ = table(1500, seed=2, missing=0.3)
    probe[:7, 0] = np.nan  # rows whose whole first split is missing
    expected = booster.inplace_predict(probe)
    assert np.array_equal(bits(trees.predict(probe)), bits(expected))
    for rows in (1, 2, 3):  # one row: its leaves are added in tree order as for many
        assert np.array_equal(bits(trees.predict(probe[:rows])), bits(expected[:rows]))


def test_the_leaf_masks_find_the_walks_leaves_on_the_pipelines_model():
    booster = REPO / "data" / "model" / "booster.json"
    if not booster.exists():
        pytest.skip("the pipeline's model is not checked out (dvc pull / dvc repro)")
    trees = TreeEnsemble.from_json(booster.read_bytes())
    rows = np.random.default_rng(0).normal(size=(3000, int(trees.masks.features.max()) + 1)).astype(np.float32)
    rows[np.random.default_rng(1).random(rows.shape) < 0.05] = np.nan
    assert np.array_equal(trees.masks.leaves(rows), trees._walk(rows))


def test_a_model_with_a_lone_leaf_and_no_rows():
    x, y = table(50)
    booster = xgb.train({"objective": "reg:logistic", "max_depth": 2, "min_child_weight": 1e6, "nthread": 1},
                        xgb.DMatrix(x, y), num_boost_round=3)  # no split is allowed: every tree is a leaf
    trees = TreeEnsemble.from_json(booster.save_raw("json"))
    assert trees.depth == 0 and trees.masks is not None
    assert np.array_equal(bits(trees.predict(x)), bits(booster.predict(xgb.DMatrix(x))))
    assert trees.predict(np.zeros((0, x.shape[1]), np.float32)).shape == (0,)


def test_other_models_are_refused_by_name():
    x, y = table(200)
    booster = xgb.train({"objective": "count:poisson", "nthread": 1}, xgb.DMatrix(x, y * 3), num_boost_round=2)
    with pytest.raises(UnsupportedBooster, match="count:poisson"):
        TreeEnsemble.from_json(booster.save_raw("json"))
    classes = xgb.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1},
                        xgb.DMatrix(x, (y * 2.99).astype(int)), num_boost_round=2)
    with pytest.raises(UnsupportedBooster, match="single-output"):
        TreeEnsemble.from_json(classes.save_raw("json"))


def test_expf_is_the_c_librarys():
    import ctypes

    libm = ctypes.CDLL(None)
    libm.expf.restype, libm.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    values = np.random.default_rng(0).uniform(-12, 12, 200_000).astype(np.float32)
    expected = np.array([libm.expf(float(v)) for v in values], np.float32)
    assert np.array_equal(bits(expf(values)), bits(expected))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_spaces_transforms_are_scikit_learns_bits(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 40)).astype(dtype), rng.normal(size=(300, 12)).astype(dtype)
    ridge = Ridge(alpha=30.0).fit(x, y)
    pca = PCA(n_components=8, random_state=0).fit(y)
    probe = rng.normal(size=(77, 40)).astype(dtype)
    assert np.array_equal(linear_map(probe, ridge.coef_, ridge.intercept_), ridge.predict(probe))
    assert np.array_equal(pca_transform(probe[:, :12], pca.mean_, pca.components_), pca.transform(probe[:, :12]))


def test_the_pipelines_model_scores_every_test_query_and_catalog_image_as_xgboost_does():
    """Both models of data/ (full and raw ablation), English and Russian test queries x the
    evaluation catalog: the pairs behind metrics/test.json."""
    import pandas as pd

    from imagesearch import paths
    from imagesearch.data.catalog import catalog_images
    from imagesearch.embedding.vectors import load_vectors
    from imagesearch.modeling.relevance import RelevanceModel

    needed = [paths.MODEL / "space.npz", paths.RAW_MODEL / "space.npz", paths.IMAGE_VECTORS, paths.TEXT_VECTORS,
              paths.RUSSIAN_QUERY_VECTORS, paths.TEST_QUERIES, paths.IMAGES]
    if not all((REPO / path).exists() for path in needed):
        pytest.skip("the pipeline's outputs are not checked out (dvc pull / dvc repro)")
    image_set = load_vectors(REPO / paths.IMAGE_VECTORS)
    catalog = list(catalog_images(pd.read_parquet(REPO / paths.IMAGES))["image"])
    ids = [str(i) for i in pd.read_parquet(REPO / paths.TEST_QUERIES)["query_id"]]
    for folder in (paths.MODEL, paths.RAW_MODEL):
        model = RelevanceModel.load(REPO / folder)
        booster = xgb.Booster(model_file=str(REPO / folder / "booster.json"))
        side = model.image_side(image_set.take(catalog))
        for vectors in (paths.TEXT_VECTORS, paths.RUSSIAN_QUERY_VECTORS):
            features = model.space.grid_features(side, model.space.text_side(load_vectors(REPO / vectors).take(ids)))
            assert len(features) == len(ids) * len(catalog) >= 500 * 50
            assert np.array_equal(bits(model.trees.predict(features)), bits(booster.inplace_predict(features)))
