"""A CLIP/SigLIP model on both sides: its own image–text cosine is a feature of the relevance
model and the two-stage search's candidate score.

The tiny random-weight models (tests/encoder_fixtures.py) embed drawn images and word-salad
captions for real. Their cosine carries next to no signal (random weights), so these tests check
the structure: the feature is there, computed alike on every path, monotone, and the candidates
are the cosine's top; what the feature is worth is measured in benchmarks/bench_vision_language.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("transformers")

from imagesearch.embedding.encoders.image import build_image_encoder  # noqa: E402
from imagesearch.embedding.encoders.text import build_text_encoder  # noqa: E402
from imagesearch.embedding.encoders.vl_common import zero_shot_cosine  # noqa: E402
from imagesearch.embedding.vectors import VectorSet  # noqa: E402
from imagesearch.modeling.joint_space import VL_COSINE, JointSpace, VisionLanguageSpace  # noqa: E402
from imagesearch.modeling.relevance import RelevanceModel  # noqa: E402
from imagesearch.serving.two_stage import TwoStageSearch, exhaustive_top_k  # noqa: E402
from tests.encoder_fixtures import WORDS, build_tiny_clip, build_tiny_siglip, draw_images  # noqa: E402
from tests.synthetic_pairs import SMALL_XGB, planted, small_config  # noqa: E402

FAMILIES = {"clip": build_tiny_clip, "siglip": build_tiny_siglip}
N_IMAGES, N_CATALOG, CAPTIONS_PER_IMAGE = 48, 16, 2
CONFIG = small_config(xgb={**SMALL_XGB, "n_estimators": 60})


def vl_data(family: str, folder: Path) -> tuple[pd.DataFrame, VectorSet, VectorSet, list[str], list[str]]:
    """(own-caption pairs of the training images, image set, caption set, catalog images, queries):
    drawn images and captions embedded by the tiny ``family`` model, encoder records included."""
    model = FAMILIES[family](folder / family)
    options = {"model": str(model)}
    image_encoder = build_image_encoder({"encoder": family, "batch_size": 16, "options": options})
    text_encoder = build_text_encoder({"encoder": family, "batch_size": 64, "options": options})
    rng = np.random.default_rng(0)
    names = [f"img{i}" for i in range(N_IMAGES)]
    query_ids = [f"{name}#{k}" for name in names for k in range(CAPTIONS_PER_IMAGE)]
    texts = [" ".join(rng.choice(WORDS, 5)) for _ in query_ids]
    image_set = VectorSet(tuple(names), image_encoder.encode(draw_images(folder / "images", N_IMAGES)),
                          image_encoder.describe())
    text_set = VectorSet(tuple(query_ids), text_encoder.encode(texts), text_encoder.describe())
    train = names[:N_IMAGES - N_CATALOG]
    pairs = pd.DataFrame([dict(image=name, query_id=f"{name}#{k}", query_image=name, source="own", target=1.0)
                          for name in train for k in range(CAPTIONS_PER_IMAGE)])
    catalog = names[N_IMAGES - N_CATALOG:]
    return pairs, image_set, text_set, catalog, [q for q in query_ids if q.split("#")[0] in catalog]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def fitted(request, tmp_path_factory):
    """(model, image_set, text_set, catalog, queries, pairs) of one tiny VL family."""
    pairs, image_set, text_set, catalog, queries = vl_data(request.param, tmp_path_factory.mktemp(request.param))
    model = RelevanceModel(CONFIG).fit(pairs, image_set, text_set)
    return model, image_set, text_set, catalog, queries, pairs


def test_a_vision_language_pair_trains_with_its_own_cosine_as_a_monotone_feature(fitted):
    model, image_set, text_set, catalog, queries, _ = fitted
    assert isinstance(model.space, VisionLanguageSpace)
    assert model.feature_names[-1] == VL_COSINE and model.space.monotone[-1] == 1
    assert len(model.space.monotone) == len(model.feature_names)
    constraints = model.booster.get_xgb_params()["monotone_constraints"]
    assert constraints.strip("()").split(",")[-1] == "1"

    images, texts = image_set.take(catalog[:4]), text_set.take(queries[:4])
    features = model.space.pair_features(model.image_side(images), model.space.text_side(texts))
    # the unit vectors' dot product, up to the space renormalising both sides in float64
    np.testing.assert_allclose(features[:, -1], zero_shot_cosine(images, texts, pairs=True), atol=1e-6)
    # the score never falls as the model's own cosine rises, all else equal
    sweep = np.repeat(features[:1], 41, axis=0)
    sweep[:, -1] = np.linspace(-1, 1, 41, dtype=np.float32)
    assert np.all(np.diff(model._predict(sweep)) >= 0)


def test_the_feature_is_computed_alike_in_score_grid_and_saved_model(fitted, tmp_path):
    model, image_set, text_set, catalog, queries, _ = fitted
    images, texts = image_set.take(catalog), text_set.take(queries)
    grid = model.score_grid(model.image_side(images), texts)
    text_row, image_row = np.divmod(np.arange(grid.size), len(catalog))
    np.testing.assert_allclose(model.score(images[image_row], texts[text_row]), grid.ravel(), atol=1e-6)
    model.save(tmp_path / "model")
    loaded = RelevanceModel.load(tmp_path / "model")
    assert isinstance(loaded.space, VisionLanguageSpace) and loaded.feature_names == model.feature_names
    assert loaded.score_grid(loaded.image_side(images), texts).tobytes() == grid.tobytes()


def test_two_stage_candidates_are_the_cosines_top_and_scores_equal_exhaustive(fitted):
    model, image_set, text_set, catalog, queries, _ = fitted
    images, texts = image_set.take(catalog), text_set.take(queries)
    covering = TwoStageSearch.build(model, images, images, spec="Flat", n_candidates=len(catalog),
                                    dtype=np.float32)
    rows, scores = covering.search(texts, 5)
    ref_rows, ref_scores = exhaustive_top_k(model, model.image_side(images), texts, 5)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)

    production = TwoStageSearch.build(model, images, images, spec="SQfp16", n_candidates=len(catalog))
    assert production.candidate_field == "vl" and "mapped" in production.store.names
    stored_rows, stored_scores = production.exhaustive(texts, 5)
    rows, scores = production.search(texts, 5)
    np.testing.assert_array_equal(rows, stored_rows)
    np.testing.assert_array_equal(scores, stored_scores)
    np.testing.assert_allclose(scores, ref_scores, atol=0.02)  # float16 storage

    cosine = zero_shot_cosine(images, texts).T
    candidates = production.candidates.search(texts, 3)
    np.testing.assert_allclose(np.take_along_axis(cosine, candidates, 1), -np.sort(-cosine, 1)[:, :3], atol=2e-3)


def test_other_encoders_or_the_ablation_keep_the_plain_joint_space(fitted):
    model, image_set, text_set, _, _, pairs = fitted
    without = RelevanceModel(CONFIG).fit(pairs, image_set, text_set, vision_language=False)
    assert type(without.space) is JointSpace and without.feature_names == model.feature_names[:-1]
    other_text = VectorSet(text_set.ids, text_set.vectors, {**text_set.encoder, "weights_sha256": "0" * 64})
    assert type(RelevanceModel(CONFIG).fit(pairs, image_set, other_text).space) is JointSpace


def test_wide_vision_language_vectors_keep_the_query_whole_in_the_two_stage_search():
    """Image and text vectors of one width above the compact store's 608 columns (CLIP ViT-L:
    768): ``standard`` is projected, and the query's own vector, which meets ``vl`` and
    ``mapped`` whole, is not."""
    pairs, image_set, text_set, test_images, test_queries = planted(n_images=80, n_test=40, image_dim=640,
                                                                    text_dim=640)
    model = RelevanceModel(CONFIG).fit(pairs, image_set, text_set, vision_language=True)
    images, texts = image_set.take(test_images), text_set.take(test_queries)
    search = TwoStageSearch.build(model, images, images, spec="Flat", n_candidates=len(images), dtype=np.float32)
    assert set(search.store.bases) == {"standard"}
    rows, scores = search.search(texts, 5)
    ref_rows, ref_scores = exhaustive_top_k(model, model.image_side(images), texts, 5)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
    assert np.mean(rows == ref_rows) > 0.9
