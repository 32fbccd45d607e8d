"""Joint-space features: shapes, grid/pair agreement, and that the similarities carry the relation."""
import numpy as np
import pytest

from imagesearch.modeling.joint_space import SIMILARITIES, JointSpace, RawSpace, soft_max, top_k_mean
from tests.synthetic_pairs import planted, small_config


def joint_space(**train) -> JointSpace:
    """The joint space of the tests' small config, with the given train keys replaced."""
    return small_config(**train).make_space()


@pytest.fixture(scope="module")
def space_and_data():
    pairs, image_set, text_set, test_images, test_queries = planted()
    own = pairs.loc[pairs["source"] == "own"]
    images = sorted(set(own["image"]))
    row = {name: i for i, name in enumerate(images)}
    space = joint_space().fit(
        image_set.take(images), text_set.take(list(own["query_id"])), own["query_image"].map(row).to_numpy())
    return space, image_set.take(test_images), text_set.take(test_queries)


def test_grid_features_equal_pair_features(space_and_data):
    space, images, texts = space_and_data
    image_side, text_side = space.image_side(images), space.text_side(texts)
    grid = space.grid_features(image_side, text_side)
    assert grid.shape == (len(texts) * len(images), len(space.feature_names))
    t, i = np.divmod(np.arange(len(grid)), len(images))
    pairs = space.pair_features(image_side.take(i), text_side.take(t))
    np.testing.assert_allclose(grid, pairs, rtol=1e-4, atol=1e-4)


def test_similarities_rank_the_own_image_first_more_often_than_chance(space_and_data):
    space, images, texts = space_and_data
    grid = space.grid_features(space.image_side(images), space.text_side(texts)).reshape(
        len(texts), len(images), -1)
    for column in ("i2t", "csls", "i2t_softmax"):
        scores = grid[:, :, space.feature_names.index(column)]
        top1 = (scores.argmax(axis=1) == np.arange(len(texts))).mean()
        assert top1 > 0.3, (column, top1)  # chance is 1/30


def test_monotone_flags_cover_every_feature(space_and_data):
    space, _, _ = space_and_data
    assert len(space.monotone) == len(space.feature_names)
    assert space.monotone[: len(SIMILARITIES)] == [1] * len(SIMILARITIES)


def test_products_are_padded_when_few_captions():
    rng = np.random.default_rng(0)
    space = joint_space(n_products=8).fit(rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), np.arange(4))
    side = space.image_side(rng.normal(size=(2, 5)))
    assert side.basis.shape == (2, 8)
    raw = RawSpace(n_components=8).fit(rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), np.arange(4))
    assert raw.image_side(rng.normal(size=(2, 5))).shape == (2, 8)


def test_row_statistics():
    values = np.array([[0.1, 0.5, 0.3], [1.0, 1.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(top_k_mean(values, 2), [0.4, 1.0], rtol=1e-6)
    smooth = soft_max(values, 0.01)
    assert np.all(smooth <= values.max(axis=1) + 1e-6) and np.all(smooth >= values.mean(axis=1) - 1e-6)
    np.testing.assert_allclose(soft_max(values, 0.01)[1], 1.0, rtol=1e-6)
