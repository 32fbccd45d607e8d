"""Shared fixtures: offline mode, the tiny dataset, the tiny pipeline built once, the real dataset.

Helpers that tests import (repo builders, readers of dvc.yaml, encoder builders) live in the
non-test modules beside this file (pipeline_repo.py, dvc_yaml.py, encoder_fixtures.py, ...),
never in a test module.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

# CI (CI=true) draws the same property-test examples every run, so that whether a submission lands
# does not depend on the draw; local runs keep exploring new examples, and hypothesis's
# database replays the failures they find.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from tests.encoder_fixtures import (build_tf_image_model, build_tf_text_model, build_tiny_clip,  # noqa: E402
                                    build_tiny_siglip)
from tests.pipeline_repo import commit_all, copy_repo, dvc, make_pipeline_repo  # noqa: E402
from tests.tinydata import make_tiny_dataset  # noqa: E402

pytest_plugins = ["tests.search_fixture"]  # the small real search index, built once

REPO = Path(__file__).resolve().parents[1]
REAL_DATASET = REPO.parent / "shared" / "datasets" / "dsplus_integrated_project_4"


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh tiny dataset folder in the real formats (read-only by convention: copy to change)."""
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny") / "dataset")


@pytest.fixture(scope="session")
def real_dataset() -> Path:
    if not REAL_DATASET.is_dir():
        pytest.skip("the real dataset is not at ../shared/datasets/dsplus_integrated_project_4")
    return REAL_DATASET


@pytest.fixture(scope="session")
def built_pipeline(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> Path:
    """The tiny pipeline after one full ``dvc repro``, committed (read-only: see ``pipeline_copy``)."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("built") / "repo", tiny_dataset)
    dvc(repo, "repro")
    commit_all(repo, "pipeline results")
    return repo


@pytest.fixture
def pipeline_copy(built_pipeline: Path, tmp_path: Path) -> Path:
    """A test's own copy of the built tiny pipeline (git, DVC cache, outputs)."""
    return copy_repo(built_pipeline, tmp_path / "repo")


# -- models the encoder tests build (tests/encoder_fixtures.py) -------------------------------
@pytest.fixture(scope="session")
def resnet_weights(tmp_path_factory) -> dict[str, Path]:
    """state_dicts of randomly initialised torchvision ResNets, saved as a user would."""
    import torch
    import torchvision

    folder = tmp_path_factory.mktemp("weights")
    out = {}
    for arch in ("resnet18", "resnet50"):
        torch.manual_seed(0)
        out[arch] = folder / f"{arch}.pt"
        torch.save(getattr(torchvision.models, arch)(weights=None).state_dict(), out[arch])
    return out


@pytest.fixture(scope="session")
def tf_models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tfhub")
    return {"image": build_tf_image_model(folder / "image"), "text": build_tf_text_model(folder / "text")}


@pytest.fixture(scope="session")
def vl_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny random-weight CLIP and SigLIP folders (tests/test_vision_language.py)."""
    folder = tmp_path_factory.mktemp("vision_language")
    return {"clip": build_tiny_clip(folder / "clip"), "siglip": build_tiny_siglip(folder / "siglip")}


@pytest.fixture
def image_params(resnet_weights, tf_models, vl_models):
    """Params for every registered image backend (a new backend must be added here)."""
    return {
        "concat": {"encoders": [{"encoder": "efficientnet-lite0"},
                                {"encoder": "resnet18", "options": {"weights_path": str(resnet_weights["resnet18"])}}]},
        "efficientnet-lite0": {},
        "efficientnet-lite1": {},
        "efficientnet-lite2": {},
        "resnet18": {"weights_path": str(resnet_weights["resnet18"])},
        "resnet50": {"weights_path": str(resnet_weights["resnet50"])},
        "tfhub": {"handle": str(tf_models["image"])},
        "clip": {"model": str(vl_models["clip"])},
        "siglip": {"model": str(vl_models["siglip"])},
    }


def text_options(name: str, tf_models: dict[str, Path], vl_models: dict[str, Path]) -> dict:
    return {"minilm": {}, "use": {}, "tfidf": {"dim": 4}, "tfhub": {"handle": str(tf_models["text"])},
            "clip": {"model": str(vl_models["clip"])}, "siglip": {"model": str(vl_models["siglip"])}}[name]
