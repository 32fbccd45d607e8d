"""The whole pipeline with a vision–language model on both sides, through `dvc exp run -S`.

A tiny random-weight CLIP or SigLIP (tests/encoder_fixtures.py builds it) embeds the tiny
dataset's photos and texts; the experiment runs every stage after validate, the model has the VL
model's own cosine as a feature (``vl_cosine``, also an ablation variant), the index carries the
ONNX copy of its text tower, and search answers through it (no torch), the legal rule in front.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pipeline_repo import dvc
from tests.encoder_fixtures import build_tiny_clip, build_tiny_siglip

FAMILIES = {"clip": (build_tiny_clip, 16), "siglip": (build_tiny_siglip, 32)}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_dvc_exp_run_with_a_vl_model_on_both_sides_then_search(family: str, tmp_path: Path,
                                                                pipeline_copy: Path) -> None:
    repo = pipeline_copy
    build, dim = FAMILIES[family]
    model = build(tmp_path / f"tiny-{family}")
    log = dvc(repo, "exp", "run", "-n", family,
              "-S", f"embed_images.encoder={family}", "-S", f"+embed_images.options.model={model}",
              "-S", f"embed_texts.encoder={family}", "-S", f"+embed_texts.options.model={model}").stdout
    for stage in ("embed_images", "embed_texts", "align_queries", "train", "evaluate", "index"):
        assert f"Running stage '{stage}'" in log, log

    vectors = json.loads((repo / "data/index/manifest.json").read_text())["image_encoder"]
    assert vectors["name"] == family and vectors["dim"] == dim
    assert (repo / "data/index/text_encoder/onnx").is_dir()
    test = json.loads((repo / "metrics/detail/test.json").read_text())
    assert test["n_queries"] > 0 and 0 < test["mrr"] <= 1
    # the VL model's own image-text cosine: a feature of the model, and an ablation variant of its own
    ablation = json.loads((repo / "metrics/detail/ablation.json").read_text())["variants"]
    assert 0 < ablation["vl_cosine"]["mrr"] <= 1 and ablation["full"]["mrr"] == test["mrr"]

    from imagesearch.serving.searcher import Searcher

    searcher = Searcher.load(repo / "data/index")
    assert searcher.model.feature_names[-1] == "vl_cosine" and "vl" in searcher.image_side.__dataclass_fields__
    assert type(searcher.text_encoder.english).__name__ == "OnnxTextEncoder"
    assert len(searcher.search("A red circle on a plain background .", k=3).hits) == 3
    assert searcher.search("A little boy holds a red circle .", k=3).disclaimer is not None
