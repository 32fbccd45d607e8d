"""Non-English queries: the multilingual map, which path a query takes, the translations file."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from imagesearch.data.translations import TranslationError, read_translations
from imagesearch.embedding.query_alignment import QueryAligner, RoutedQueryEncoder, is_english


VOCABULARY = frozenset("a dog is running on the beach man rides bike in city".split())


@pytest.mark.parametrize("query, english", [
    ("A dog is running on the beach", True),
    ("a man rides a bike in the kickflip city", True),      # one unknown word of seven
    ("Собака бежит по пляжу", False),
    ("Ein Hund läuft am Strand", False),                     # a non-ASCII letter
    ("perro corriendo en la playa", False),                  # ASCII, but not English words
    ("ａ ｄｏｇ on the beach", True),                          # fullwidth: normalised first
    ("2024", True),
])
def test_which_path_a_query_takes(query: str, english: bool) -> None:
    assert is_english(query, VOCABULARY) is english


def _linear_data(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(n, 24))
    target = source @ rng.normal(size=(24, 16)) + 0.5
    return source, target, [f"image{i // 4}" for i in range(n)]


def test_the_map_recovers_a_linear_relation_and_cv_prefers_the_smallest_penalty() -> None:
    source, target, groups = _linear_data()
    aligner = QueryAligner.fit(source[:200], target[:200], groups[:200], ["a dog"], folds=5)
    assert aligner.alpha == 0.1
    assert aligner.cv["folds"] == 5 and aligner.cv["captions"] == 200
    mapped = aligner.transform(source[200:])
    truth = target[200:] / np.linalg.norm(target[200:], axis=1, keepdims=True)
    assert mapped.dtype == np.float32
    assert np.min(np.sum(mapped * truth, axis=1)) > 0.999


def test_noisy_targets_choose_a_larger_penalty() -> None:
    source, target, groups = _linear_data(n=120)
    noisy = target + np.random.default_rng(1).normal(scale=30.0, size=target.shape)
    aligner = QueryAligner.fit(source, noisy, groups, [], folds=5)
    assert aligner.alpha > 0.1


def test_saved_map_loads_to_identical_vectors_and_identical_bytes(tmp_path: Path) -> None:
    source, target, groups = _linear_data()
    first = QueryAligner.fit(source, target, groups, ["a dog runs"])
    first.save(tmp_path / "one")
    QueryAligner.fit(source, target, groups, ["a dog runs"]).save(tmp_path / "two")
    for name in ("map.npz", "english_vocabulary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    loaded = QueryAligner.load(tmp_path / "one")
    assert loaded.vocabulary == frozenset({"a", "dog", "runs"})
    assert loaded.transform(source).tobytes() == first.transform(source).tobytes()


def test_fit_refuses_mismatched_inputs() -> None:
    source, target, groups = _linear_data()
    with pytest.raises(ValueError, match="240 source vectors, 239 target vectors"):
        QueryAligner.fit(source, target[:-1], groups, [])
    with pytest.raises(ValueError, match="at least 2 images"):
        QueryAligner.fit(source, target, ["one"] * len(source), [])


@pytest.fixture(scope="module")
def multilingual_index(search_index, tmp_path_factory) -> Path:
    """A copy of the tiny index with a query map fitted on its captions by the real USE."""
    import pandas as pd

    from imagesearch.embedding.encoders.text import build_text_encoder
    from imagesearch.serving.searcher import load_query_encoder

    folder = tmp_path_factory.mktemp("multilingual") / "index"
    shutil.copytree(search_index.folder, folder)
    captions = pd.read_csv(search_index.dataset / "train_dataset.csv")
    texts = sorted(set(captions["query_text"]))
    use = build_text_encoder({"encoder": "use", "batch_size": 64, "options": {}})
    minilm = load_query_encoder(folder)
    QueryAligner.fit(use.encode(texts, progress=False), minilm.encode(texts), texts, texts,
                     folds=3).save(folder / "query_aligner")
    return folder


def test_search_ranks_a_russian_query_with_the_map_and_english_as_before(multilingual_index, searcher) -> None:
    from imagesearch.serving.searcher import Searcher

    routed = Searcher.load(multilingual_index)
    assert isinstance(routed.text_encoder, RoutedQueryEncoder)
    english = "A red circle on a plain background ."
    assert routed.text_encoder.path_of(english) == "english"
    assert routed.search(english, k=5) == searcher.search(english, k=5)

    russian = "Красный круг на простом фоне"
    assert routed.text_encoder.path_of(russian) == "multilingual"
    expected = routed.text_encoder.multilingual.encode([russian])
    scores = routed.model.score_grid(routed.image_side, expected)[0]
    result = routed.search(russian, k=3)
    assert [hit.image for hit in result.hits] == [routed.catalog["image"][i] for i in np.argsort(-scores, kind="stable")[:3]]
    # a batch of both languages gives each row its own path
    both = routed.text_encoder.encode([english, russian])
    assert both[1].tobytes() == expected[0].tobytes()
    assert np.allclose(both[0], searcher.text_encoder.encode([english])[0])


def test_a_russian_query_never_opens_the_english_encoder(multilingual_index) -> None:
    from imagesearch.serving.searcher import Searcher

    routed = Searcher.load(multilingual_index)
    assert routed.search("Красный круг на простом фоне", k=3).hits
    assert not routed.text_encoder.english.is_open  # its ONNX session is the English route's cost
    assert routed.search("A red circle on a plain background .", k=3).hits
    assert routed.text_encoder.english.is_open


def test_a_russian_child_query_gets_the_disclaimer_on_the_multilingual_index(multilingual_index) -> None:
    from imagesearch.serving.searcher import Searcher

    result = Searcher.load(multilingual_index).search("Мальчик держит красный круг", k=3)
    assert result.disclaimer is not None and not result.hits


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, message", [
    ("id\ttext\nq1\tодин\n", r"tr.tsv:1: expected the header"),
    ("query_id\tquery_ru\nq1\tодин\nq1\tещё\n", r"tr.tsv:3: 'q1' repeats line 2"),
    ("query_id\tquery_ru\nq1\tодин\nq9\tдевять\n", r"tr.tsv:3: 'q9' is not a test query id"),
    ("query_id\tquery_ru\nq1\t  \n", r"tr.tsv:2: the translation of 'q1' is empty"),
    ("query_id\tquery_ru\nq1\tодин\tлишнее\n", r"tr.tsv:2: expected 2 tab-separated fields, got 3"),
    ("query_id\tquery_ru\nq1\tодин\n", r"tr.tsv: no translation for 1 test queries, e.g. \['q2'\]"),
])
def test_a_bad_translations_file_names_the_line_and_the_problem(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(TranslationError, match=message):
        read_translations(_write(tmp_path / "tr.tsv", body), ["q1", "q2"] if "no translation" in message else ["q1"])


def test_translations_are_read_in_file_order_with_spaces_collapsed(tmp_path: Path) -> None:
    frame = read_translations(_write(tmp_path / "tr.tsv", "query_id\tquery_ru\nq2\tдва  слова\nq1\tодин\n"), ["q1", "q2"])
    assert frame.to_dict("records") == [{"query_id": "q2", "query_ru": "два слова"},
                                        {"query_id": "q1", "query_ru": "один"}]


def test_a_missing_translations_file_says_where_it_belongs(tmp_path: Path) -> None:
    with pytest.raises(TranslationError, match="data/translations/"):
        read_translations(tmp_path / "absent.tsv", ["q1"])
