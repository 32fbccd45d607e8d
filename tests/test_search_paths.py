"""One searcher for every catalog size: the exhaustive and the two-stage index answer alike.

A synthetic catalog of 400 images (mixtures of the tiny dataset's real image vectors), 60 of
them blocked, is indexed both ways by the production ``build_index``: below the threshold (every
image scored) and past it (FAISS candidates + compact float16 image side, re-ranked by the
model). The legal policy must hold identically on both paths, and the two-stage hits must be
the exhaustive ones up to the float16 storage.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagesearch.embedding.vectors import VectorSet, load_vectors
from imagesearch.params import SearchParams
from imagesearch.serving.index import IndexParts, build_index
from imagesearch.serving.searcher import Searcher


N_IMAGES, N_BLOCKED = 400, 60
WORDS = ["a", "red", "green", "blue", "circle", "square", "triangle", "on", "plain", "background",
         "boy", "girl", "child", "kids", "baby", "dog", "мальчик", "красный", "круг", "Kinder"]


def _synthetic_catalog(real: VectorSet, seed: int = 0) -> tuple[pd.DataFrame, VectorSet, set[str]]:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(real.ids), N_IMAGES), rng.integers(0, len(real.ids), N_IMAGES)
    weight = rng.uniform(0.5, 1.0, (N_IMAGES, 1))
    mixed = weight * real.vectors[a] + (1 - weight) * real.vectors[b]
    mixed *= np.exp(rng.normal(0, 0.1, mixed.shape))
    ids = tuple(f"synthetic_{i:04d}.jpg" for i in range(N_IMAGES))
    vectors = (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)
    images = pd.DataFrame({"image": ids, "path": [f"/catalog/{name}" for name in ids]})
    blocked = set(rng.choice(ids, N_BLOCKED, replace=False))
    return images, VectorSet(ids, vectors, real.encoder), blocked


@pytest.fixture(scope="module")
def both_searchers(search_index, tmp_path_factory) -> tuple[Searcher, Searcher, set[str]]:
    work = search_index.work
    images, image_set, blocked = _synthetic_catalog(load_vectors(work / "images.npz"))
    root = tmp_path_factory.mktemp("paths")
    loaded = []
    for name, search in (("exhaustive", SearchParams(two_stage_from=N_IMAGES - N_BLOCKED + 1)),
                         ("two_stage", SearchParams(two_stage_from=N_IMAGES - N_BLOCKED, candidates=N_IMAGES))):
        parts = IndexParts(work / "model", work / "text_encoder", work / "visual_classifier.joblib")
        manifest = build_index(root / name, parts, images, image_set, blocked, search)
        assert manifest["search"] == name and manifest["indexed_images"] == N_IMAGES - N_BLOCKED
        loaded.append(Searcher.load(root / name))
    assert (root / "two_stage" / "two_stage").is_dir() and not (root / "two_stage" / "image_side.npz").exists()
    return loaded[0], loaded[1], blocked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), k=st.integers(1, 30))
def test_the_legal_policy_and_the_ranking_hold_on_both_paths(both_searchers, words, k) -> None:
    exhaustive, two_stage, blocked = both_searchers
    query = " ".join(words)
    slow, fast = exhaustive.search(query, k), two_stage.search(query, k)
    assert slow.disclaimer == fast.disclaimer and slow.blocked_words == fast.blocked_words
    if slow.disclaimer is not None:
        assert not slow.hits and not fast.hits
        return
    assert len(fast.hits) == len(slow.hits) == k
    assert not {hit.image for hit in fast.hits} & blocked
    assert not {hit.image for hit in slow.hits} & blocked
    # the same images up to float16 storage: each two-stage score is the exhaustive one of that
    # image within 0.02, and no image the two-stage search left out scores 0.02 above its last hit
    reference = dict(zip(exhaustive.catalog["image"],
                         exhaustive.model.score_grid(exhaustive.image_side, exhaustive.text_encoder.encode([query]))[0]))
    for hit in fast.hits:
        assert abs(hit.score - reference[hit.image]) < 0.02
    left_out = [score for image, score in reference.items() if image not in {h.image for h in fast.hits}]
    assert max(left_out, default=0.0) <= fast.hits[-1].score + 0.02


def test_two_stage_top_k_equals_the_exhaustive_top_k_on_most_queries(both_searchers) -> None:
    exhaustive, two_stage, _ = both_searchers
    queries = [f"a {colour} {shape}" for colour in ("red", "green", "blue", "yellow", "purple", "orange")
               for shape in ("circle", "square", "triangle")]
    same = sum([h.image for h in exhaustive.search(q, 10).hits] == [h.image for h in two_stage.search(q, 10).hits]
               for q in queries)
    assert same >= 0.8 * len(queries)


def test_evaluate_reports_the_served_two_stage_ranking_past_the_threshold(both_searchers, search_index) -> None:
    from imagesearch.serving.served import served_report

    exhaustive, _, blocked = both_searchers
    images, image_set, _ = _synthetic_catalog(load_vectors(search_index.work / "images.npz"))
    texts = [f"a {colour} {shape}" for colour in ("red", "green", "blue") for shape in ("circle", "square")]
    vectors = exhaustive.text_encoder.encode(texts)
    # gold: each query's exhaustive 3rd-best allowed image, so the served ranks are known
    rows, _ = exhaustive.top_k(vectors, 3)
    gold = [exhaustive.catalog["image"][r[2]] for r in rows]
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(len(texts))], "image": gold})
    text_set = VectorSet(tuple(queries["query_id"]), vectors)
    catalog = list(images["image"])
    args = (exhaustive.model, queries, catalog, image_set, text_set, set(), blocked)
    assert served_report(*args, SearchParams(two_stage_from=N_IMAGES)) is None
    report = served_report(*args, SearchParams(two_stage_from=1, candidates=N_IMAGES))
    assert report["n_queries"] == len(texts) and report["depth"] == 100
    assert report["recall_at_1"] <= 0.34 and report["recall_at_5"] >= 0.8
