"""A small real search index for the web, CLI and browser tests, built once per session.

The index is built by the production code path on the tiny PIL-drawn dataset
(:mod:`tests.tinydata`): validate -> labels -> real encoders -> the legal stage's rules (EfficientNet-Lite0,
MiniLM) -> RelevanceModel -> visual classifier -> :func:`imagesearch.serving.index.build_index`. Only the
model's sizes are shrunk (few trees, fewer feature folds) so the whole build takes seconds.

A pytest plugin that tests/conftest.py loads for every test module.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

IMAGE_PARAMS = {"encoder": "efficientnet-lite0", "batch_size": 8}
TEXT_PARAMS = {"encoder": "minilm", "batch_size": 32}
SMALL_XGB = {"n_estimators": 40, "learning_rate": 0.2, "max_depth": 3, "subsample": 1.0,
             "colsample_bytree": 1.0, "min_child_weight": 1.0, "early_stopping_rounds": 10}


@dataclass(frozen=True)
class TestIndex:
    """Where the built index is, and facts about it that the tests assert on."""

    folder: Path
    dataset: Path
    allowed_images: tuple[str, ...]   # the catalog ids in the index
    blocked_images: tuple[str, ...]   # test images left out by the legal rules
    work: Path                        # model/, text_encoder/, visual_classifier.joblib, images.npz

    def image_file(self, image: str) -> Path:
        return self.dataset / "test_images" / image


def build_test_index(dataset: Path, work: Path) -> TestIndex:
    """Build the index for ``dataset`` (a tinydata folder) under ``work``; returns its facts."""
    from imagesearch.data.validate import validate_dataset
    from imagesearch.embedding.encoders.image import build_image_encoder
    from imagesearch.embedding.encoders.text import build_text_encoder
    from imagesearch.serving.index import IndexParts, build_index
    from imagesearch.data.labels import aggregate
    from imagesearch.legal.apply import apply_legal_rules
    from imagesearch.legal.hand_labels import load_hand_labels
    from imagesearch.params import LegalParams
    from imagesearch.modeling.relevance import ModelConfig, RelevanceModel
    from imagesearch.embedding.vectors import VectorSet, save_vectors

    clean = validate_dataset(dataset, min_side=16, max_pixels=50_000_000, progress=False)
    pairs, _ = aggregate(clean.expert, clean.crowd, clean.captions, "blend", 0.6, 1.0)

    images = clean.images
    image_encoder = build_image_encoder(IMAGE_PARAMS)
    image_set = VectorSet(tuple(images["image"]), image_encoder.encode(list(images["path"])),
                          image_encoder.describe())
    save_vectors(work / "images.npz", image_set)
    text_encoder = build_text_encoder(TEXT_PARAMS)
    captions = clean.captions
    text_encoder.fit(list(captions.loc[captions["split"] == "train", "query_text"]))
    text_set = VectorSet(tuple(captions["query_id"]), text_encoder.encode(list(captions["query_text"])),
                         text_encoder.describe())
    text_encoder_dir = work / "text_encoder"
    text_encoder.save(text_encoder_dir)

    # legal: the production rules, as the legal stage runs them (recall 1.0: the tiny set is small)
    legal = apply_legal_rules(pairs, captions, clean.test_queries, images, image_set, load_hand_labels(),
                              LegalParams(expert_confirm_mean=3.0, crowd_confirm_share=0.66,
                                          visual_recall=1.0, crosslingual_recall=0.98, folds=2, seed=0))
    blocked = set(legal.blocked_images["image"])
    allowed_pairs = legal.allowed_pairs

    model_dir = work / "model"
    config = ModelConfig(ridge_alpha=3000.0, n_products=4, knn_temperature=0.05, csls_k=10,
                         softmax_temperature=0.02, feature_folds=3, negatives_per_caption=0,
                         monotone=False, early_stopping_fraction=0.3, seed=0, xgb=dict(SMALL_XGB),
                         weights=dict.fromkeys(("expert", "crowd", "both", "own", "sampled"), 1.0))
    RelevanceModel(config).fit(allowed_pairs, image_set, text_set).save(model_dir)

    classifier_path = work / "visual_classifier.joblib"
    legal.classifier.save(classifier_path)

    catalog = images.loc[images["split"] == "test", ["image", "path", "sha256"]]
    folder = work / "index"
    # no cross-lingual rule here: trained on the tiny captions' few words it would judge ordinary
    # English query words it never saw (tests/test_legal_crosslingual.py adds one to a copy)
    build_index(folder, IndexParts(model_dir, text_encoder_dir, classifier_path), catalog, image_set, blocked,
                seen_photos=images[["image", "sha256"]])
    allowed = tuple(sorted(set(catalog["image"]) - blocked))
    return TestIndex(folder, dataset, allowed, tuple(sorted(set(catalog["image"]) & blocked)), work)


@pytest.fixture(scope="session")
def search_index(tmp_path_factory: pytest.TempPathFactory) -> TestIndex:
    """The tiny real index (built once per session; treat it as read-only)."""
    from tests.tinydata import make_tiny_dataset

    root = tmp_path_factory.mktemp("search_index")
    dataset = make_tiny_dataset(root / "dataset")
    return build_test_index(dataset, root)


@pytest.fixture(scope="session")
def searcher(search_index: TestIndex):
    """A Searcher loaded once from the tiny index."""
    from imagesearch.serving.searcher import Searcher

    return Searcher.load(search_index.folder)


#: English captions the cross-lingual second line is trained on in tests (labelled by the English rule).
CROSSLINGUAL_CAPTIONS = (
    "A man rides a bike through the city", "A woman reads in a cafe", "Two dogs run on the beach",
    "A boy jumps into the pool", "A girl in a red dress feeds pigeons", "Children play on the playground",
    "A baby sleeps in a crib", "A toddler eats ice cream", "An old man walks his dog in the park",
    "A group of people stand near a building", "A teenager skateboards down the street",
    "A cyclist climbs a mountain road", "A chef cooks in a kitchen", "Kids splash in a fountain",
)


@pytest.fixture(scope="session")
def crosslingual_rule():
    """The cross-lingual second line, fitted for real (multilingual USE word vectors) on a few captions."""
    from imagesearch.legal.crosslingual import fit_crosslingual_rule
    from imagesearch.legal.text_rule import listed_english_words, load_text_rule

    rule = load_text_rule()
    return fit_crosslingual_rule(list(CROSSLINGUAL_CAPTIONS), listed_english_words(),
                                 lambda w: rule.check(w).blocked, recall=0.98, folds=3, seed=0)


@pytest.fixture(scope="session")
def notice_index(search_index: TestIndex, crosslingual_rule, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny index built with ``legal.uncovered_language: notice`` (the legal stage
    saves the policy in the cross-lingual rule's file, which the index carries)."""
    import shutil
    from dataclasses import replace

    from imagesearch import paths

    folder = tmp_path_factory.mktemp("notice") / "index"
    shutil.copytree(search_index.folder, folder)
    replace(crosslingual_rule, uncovered_language="notice").save(folder / paths.INDEX_CROSSLINGUAL_RULE)
    return folder
