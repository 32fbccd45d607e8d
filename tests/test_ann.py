"""Two-stage search (imagesearch.serving.two_stage): candidates by vector search, re-ranked by the model."""
import numpy as np
import pytest

from imagesearch.serving.two_stage import CandidateIndex, CompactImageSide, TwoStageSearch, exhaustive_top_k, merge_top_k
from imagesearch.modeling.relevance import RelevanceModel
from tests.synthetic_pairs import SMALL_XGB, planted, small_config

SMALL = small_config(xgb={**SMALL_XGB, "n_estimators": 60})


def unit(matrix):
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def setting():
    pairs, image_set, text_set, _, _ = planted()
    model = RelevanceModel(SMALL).fit(pairs, image_set, text_set)
    rng = np.random.default_rng(1)
    catalog = unit(rng.normal(size=(2000, image_set.dim)))
    queries = unit(rng.normal(size=(25, text_set.dim)))
    return model, catalog, queries


def test_equals_exhaustive_when_candidates_cover_the_catalog(setting):
    model, catalog, queries = setting
    search = TwoStageSearch.build(model, catalog, catalog, spec="Flat", n_candidates=len(catalog),
                                  dtype=np.float32)
    rows, scores = search.search(queries, 10)
    ref_rows, ref_scores = exhaustive_top_k(model, model.image_side(catalog), queries, 10)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)


def test_compact_ivf_index_agrees_with_exhaustive_for_large_k(setting):
    model, catalog, queries = setting
    search = TwoStageSearch.build(model, np.array_split(catalog, 4), catalog, spec="IVF16,SQfp16",
                                  nprobe=16, n_candidates=600)
    rows, scores = search.search(queries, 10)
    ref_rows, ref_scores = exhaustive_top_k(model, model.image_side(catalog), queries, 10)
    # float16 storage moves a feature across a tree threshold now and then: scores stay within
    # 0.02, and most top-10 sets are identical (this small model has many exact ties)
    np.testing.assert_allclose(scores, ref_scores, atol=0.02)
    same = np.mean([set(a) == set(b) for a, b in zip(rows, ref_rows)])
    assert same >= 0.75


def test_stored_exhaustive_is_what_full_coverage_two_stage_returns(setting):
    """On the same float16 store, two stages whose candidates cover the catalog (every IVF list
    probed, K = catalog) return exactly the stored exhaustive top-k; small K returns a subset
    of worse-or-equal quality."""
    model, catalog, queries = setting
    search = TwoStageSearch.build(model, np.array_split(catalog, 3), catalog, spec="IVF16,SQfp16",
                                  nprobe=16, n_candidates=len(catalog))
    ref_rows, ref_scores = search.exhaustive(queries, 10, chunk=700)
    rows, scores = search.search(queries, 10)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)
    search.n_candidates, search.candidates.nprobe = 50, 2
    _, few_scores = search.search(queries, 10)
    assert np.all(few_scores <= ref_scores + 1e-6)


def test_results_are_catalog_rows_with_shapes_and_dtypes(setting):
    model, catalog, queries = setting
    search = TwoStageSearch.build(model, catalog[:300], catalog[:300], spec="SQfp16", n_candidates=50)
    rows, scores = search.search(queries, 7)
    assert rows.shape == scores.shape == (len(queries), 7)
    assert rows.dtype == np.int64 and scores.dtype == np.float32
    assert rows.min() >= 0 and rows.max() < 300
    assert all(len(set(r)) == 7 for r in rows)
    assert np.all((scores >= 0) & (scores <= 1))
    assert np.all(np.diff(scores, axis=1) <= 0)  # best first


def test_small_catalog_pads_with_minus_one_and_never_invents_rows(setting):
    model, catalog, queries = setting
    search = TwoStageSearch.build(model, catalog[:5], catalog[:50], spec="Flat", n_candidates=100)
    rows, scores = search.search(queries[:3], 10)
    assert np.all((rows[:, :5] >= 0) & (rows[:, :5] < 5))
    assert np.all(rows[:, 5:] == -1) and np.all(np.isnan(scores[:, 5:]))
    assert all(set(r[:5]) == set(range(5)) for r in rows)


def test_candidate_index_search_and_reconstruct():
    rng = np.random.default_rng(0)
    vectors = unit(rng.normal(size=(500, 16)))
    index = CandidateIndex.build(vectors, spec="Flat")
    rows = index.search(vectors[:4], 3)
    assert rows.shape == (4, 3) and rows.dtype == np.int64
    np.testing.assert_array_equal(rows[:, 0], np.arange(4))  # each vector is its own best match
    np.testing.assert_allclose(index.reconstruct(np.array([7, 3])), vectors[[7, 3]], atol=1e-6)
    with pytest.raises(ValueError):
        index.search(vectors[:2, :8], 3)
    with pytest.raises(ValueError):
        index.search(vectors[:2], 0)
    with pytest.raises(ValueError):
        CandidateIndex.create(16, "IVF8,Flat")  # needs training vectors


def test_projection_keeps_inner_products_with_the_query_directions(setting):
    model, catalog, _ = setting
    side = model.image_side(catalog)
    width = side.standard.shape[1]
    rng = np.random.default_rng(2)
    directions = rng.normal(size=(40, 6)) @ rng.normal(size=(6, width))  # rank 6
    store = CompactImageSide.fit(side, {"standard": directions}, max_width=6, dtype=np.float32)
    store.add(side)
    rows = np.array([5, 0, 17])
    back = store.take(rows, mapped=side.mapped[rows])
    assert back.standard.shape == (3, width)
    np.testing.assert_allclose(back.standard @ directions.T, side.standard[rows] @ directions.T, atol=1e-4)
    np.testing.assert_allclose(back.hub_top, side.hub_top[rows])


def test_merge_top_k_breaks_ties_by_row():
    rows, scores = merge_top_k(np.array([[4, 9]]), np.array([[0.5, 0.2]], dtype=np.float32),
                               np.array([[1, 2]]), np.array([[0.5, 0.1]], dtype=np.float32), 3)
    np.testing.assert_array_equal(rows, [[1, 4, 9]])


def test_score_rows_gives_the_scores_search_returns(setting):
    """What `imagesearch score` asks for a catalog photo: one row's re-ranker score, the same
    bytes as the search that returned that row."""
    model, catalog, queries = setting
    search = TwoStageSearch.build(model, catalog, catalog, spec="IVF16,SQfp16", nprobe=16, n_candidates=300)
    rows, scores = search.search(queries, 10)
    for i, (found, found_scores) in enumerate(zip(rows, scores)):
        alone = [search.score_rows(np.array([row]), queries[i:i + 1])[0, 0] for row in found]
        np.testing.assert_array_equal(np.array(alone, dtype=np.float32), found_scores)
