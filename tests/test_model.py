"""The relevance model on a planted relation: learns it, stays in [0, 1], no leakage, round-trips."""
import numpy as np
import pytest

from imagesearch.modeling.relevance import ModelConfig, RelevanceModel, TrainingSet
from tests.synthetic_pairs import planted, small_config

SMALL = small_config()


@pytest.fixture(scope="module")
def fitted():
    pairs, image_set, text_set, test_images, test_queries = planted()
    return RelevanceModel(SMALL).fit(pairs, image_set, text_set), image_set, text_set, test_images, test_queries


def test_recovers_the_planted_relation_better_than_chance(fitted):
    model, image_set, text_set, test_images, test_queries = fitted
    grid = model.score_grid(model.image_side(image_set.take(test_images)), text_set.take(test_queries))
    assert grid.shape == (len(test_queries), len(test_images))
    top1 = (grid.argmax(axis=1) == np.arange(len(test_queries))).mean()
    assert top1 > 0.25  # chance: 1/30
    assert np.all((grid >= 0) & (grid <= 1))


def test_score_matches_score_grid(fitted):
    model, image_set, text_set, test_images, test_queries = fitted
    grid = model.score_grid(model.image_side(image_set.take(test_images)), text_set.take(test_queries))
    aligned = model.score(image_set.take(test_images[:5]), text_set.take(test_queries[:5]))
    np.testing.assert_allclose(aligned, np.diag(grid)[:5], atol=1e-5)


def test_save_load_round_trip(fitted, tmp_path):
    model, image_set, text_set, test_images, test_queries = fitted
    model.save(tmp_path / "model")
    loaded = RelevanceModel.load(tmp_path / "model")
    assert loaded.config == model.config
    images, texts = image_set.take(test_images), text_set.take(test_queries)
    np.testing.assert_array_equal(loaded.score_grid(loaded.image_side(images), texts),
                                  model.score_grid(model.image_side(images), texts))


def test_sampled_negatives_avoid_known_and_own_pairs():
    pairs, image_set, text_set, _, _ = planted(n_images=40, n_test=0)
    base = TrainingSet.build(pairs, image_set, text_set, {"own": 1, "expert": 1, "crowd": 1})
    data = TrainingSet.build(pairs, image_set, text_set, {"own": 1, "expert": 1, "crowd": 1, "sampled": 0.5},
                             negatives_per_caption=5, seed=1)
    extra = slice(len(base.target), None)
    assert len(data.target) > len(base.target)
    assert np.all(data.target[extra] == 0) and np.all(data.weight[extra] == 0.5)
    assert np.all(data.pair_image[extra] != data.own_image[data.pair_text[extra]])
    known = set(zip(base.pair_image.tolist(), base.pair_text.tolist()))
    assert not known & set(zip(data.pair_image[extra].tolist(), data.pair_text[extra].tolist()))


def test_out_of_fold_features_never_come_from_a_space_that_saw_the_pair(monkeypatch):
    """Every space fitted for the OOF features excludes both images of each pair it featurises."""
    pairs, image_set, text_set, _, _ = planted(n_images=45, n_test=0)
    model = RelevanceModel(SMALL)
    data = TrainingSet.build(pairs, image_set, text_set, SMALL.weights, 3, 0)
    seen: list[tuple[set, set]] = []
    real_make_space = ModelConfig.make_space

    def spying_make_space(config, *args):
        space = real_make_space(config, *args)
        fit, pair_features = space.fit, space.pair_features
        record = {}

        def spy_fit(images, texts, own_image):
            record["images"] = {tuple(np.round(v, 5)) for v in images}
            return fit(images, texts, own_image)

        def spy_pair_features(image_side, text_side):
            seen.append((record["images"], None))
            return pair_features(image_side, text_side)

        space.fit, space.pair_features = spy_fit, spy_pair_features
        return space

    monkeypatch.setattr(ModelConfig, "make_space", spying_make_space)
    model._out_of_fold_features(data)
    fold = np.random.default_rng(SMALL.seed).integers(0, SMALL.feature_folds, size=len(data.images))
    # recompute which pairs each space served, in the loop's order, and check the images
    k, block = SMALL.feature_folds, 0
    first = np.minimum(fold[data.pair_image], fold[data.own_image[data.pair_text]])
    second = np.maximum(fold[data.pair_image], fold[data.own_image[data.pair_text]])
    for a in range(k):
        for b in range(a, k):
            rows = np.flatnonzero((first == a) & (second == b))
            if len(rows) == 0:
                continue
            fitted_on = seen[block][0]
            block += 1
            for r in rows:
                for image_row in (data.pair_image[r], data.own_image[data.pair_text[r]]):
                    assert tuple(np.round(data.images[image_row], 5)) not in fitted_on
    assert block == len(seen)


def test_a_model_that_travelled_through_pickle_saves_the_same_bytes(fitted, tmp_path) -> None:
    """A model fitted on a cluster worker arrives unpickled, its objects no longer shared as in the
    process that fitted it (attribute names re-interned, fresh dtypes): saved, it is the same bytes."""
    import pickle

    model = fitted[0]
    model.save(tmp_path / "here")
    pickle.loads(pickle.dumps(model)).save(tmp_path / "travelled")
    for name in ("space.npz", "booster.json", "config.json"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "travelled" / name).read_bytes(), name
    images, texts = fitted[1].vectors[:5], fitted[2].vectors[:5]
    assert RelevanceModel.load(tmp_path / "travelled").score(images, texts).tobytes() == \
        model.score(images, texts).tobytes()
