"""params.yaml is validated up front (imagesearch.params): bad keys and values fail with a
ParamsError naming the key, before any stage does expensive work."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from imagesearch.embedding.encoders.names import IMAGE_ENCODER_NAMES, TEXT_ENCODER_NAMES
from imagesearch.params import Params, ParamsError, load_params, section

REPO = Path(__file__).resolve().parents[1]


def good() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def write(tmp_path: Path, params: dict | str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(params if isinstance(params, str) else yaml.safe_dump(params, sort_keys=False))
    return path


def changed(keys: tuple[str, ...], value=None, delete: bool = False, rename: str | None = None) -> dict:
    params = good()
    node = params
    for key in keys[:-1]:
        node = node[key]
    if rename is not None:
        node[rename] = node.pop(keys[-1])
    elif delete:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return params


def test_the_repository_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert isinstance(params, Params)
    assert section("validate", REPO / "params.yaml").min_image_side >= 1


def test_encoder_names_equal_the_registries():
    from imagesearch.embedding.encoders.image import IMAGE_ENCODERS
    from imagesearch.embedding.encoders.text import TEXT_ENCODERS

    assert sorted(IMAGE_ENCODER_NAMES) == sorted(IMAGE_ENCODERS)
    assert sorted(TEXT_ENCODER_NAMES) == sorted(TEXT_ENCODERS)


BAD = [
    # (what is wrong, the params, fragments the message must contain)
    ("typo'd key", changed(("train", "xgb", "n_estimators"), rename="n_estimator"),
     ["train.xgb.n_estimator", "Extra inputs are not permitted", "train.xgb.n_estimators", "Field required"]),
    ("typo'd section", changed(("evaluate",), rename="evalute"), ["evalute", "evaluate"]),
    ("negative weight", changed(("train", "weights", "crowd"), -1.0),
     ["train.weights.crowd", "greater than or equal to 0"]),
    ("unknown image encoder", changed(("embed_images", "encoder"), "clip-vit-b32"),
     ["embed_images.encoder", "unknown image encoder 'clip-vit-b32'", "efficientnet-lite0"]),
    ("unknown text encoder", changed(("embed_texts", "encoder"), "bert"),
     ["embed_texts.encoder", "unknown text encoder 'bert'", "minilm"]),
    ("image encoder named as text encoder", changed(("embed_texts", "encoder"), "resnet18"),
     ["embed_texts.encoder", "unknown text encoder"]),
    ("share threshold above 1", changed(("legal", "crowd_confirm_share"), 1.5),
     ["legal.crowd_confirm_share", "less than or equal to 1"]),
    ("recall below 0", changed(("legal", "visual_recall"), -0.1),
     ["legal.visual_recall", "greater than or equal to 0"]),
    ("weight above 1", changed(("labels", "expert_weight"), 2),
     ["labels.expert_weight", "less than or equal to 1"]),
    ("expert threshold outside 1-4", changed(("train", "match_threshold"), 5),
     ["train.match_threshold", "less than or equal to 4"]),
    ("unknown strategy", changed(("labels", "strategy"), "average"), ["labels.strategy", "'expert'"]),
    ("string where a number belongs", changed(("train", "ridge_alpha"), "lots"), ["train.ridge_alpha"]),
    ("zero batch size", changed(("embed_images", "batch_size"), 0), ["embed_images.batch_size"]),
    ("one fold", changed(("train", "folds"), 1), ["train.folds", "greater than or equal to 2"]),
    ("one feature fold", changed(("train", "feature_folds"), 1),
     ["train.feature_folds", "greater than or equal to 3"]),
    ("no product features", changed(("train", "n_products"), 0),
     ["train.n_products", "greater than or equal to 1"]),
    ("no CSLS neighbours", changed(("train", "csls_k"), 0), ["train.csls_k", "greater than or equal to 1"]),
    ("negative kNN temperature", changed(("train", "knn_temperature"), -0.05),
     ["train.knn_temperature", "greater than 0"]),
    ("zero softmax temperature", changed(("train", "softmax_temperature"), 0),
     ["train.softmax_temperature", "greater than 0"]),
    ("all images held out for early stopping", changed(("train", "early_stopping_fraction"), 1.0),
     ["train.early_stopping_fraction", "less than 1"]),
    ("no early-stopping images", changed(("train", "early_stopping_fraction"), 0.0),
     ["train.early_stopping_fraction", "greater than 0"]),
    ("missing model key", changed(("train", "csls_k"), delete=True), ["train.csls_k", "Field required"]),
    ("missing key", changed(("validate", "max_image_pixels"), delete=True),
     ["validate.max_image_pixels", "Field required"]),
    ("section is a scalar", changed(("train",), 3), ["train"]),
]


@pytest.mark.parametrize("what, params, fragments", BAD, ids=[b[0] for b in BAD])
def test_bad_params_name_the_key(what, params, fragments, tmp_path):
    path = write(tmp_path, params)
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("text, fragment", [
    ("train: [unclosed", "not valid YAML"),
    ("- just\n- a list\n", "expected a mapping"),
    ("", "expected a mapping"),
])
def test_malformed_files(text, fragment, tmp_path):
    with pytest.raises(ParamsError, match=fragment):
        load_params(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="no such params file"):
        load_params(tmp_path / "nope.yaml")


def test_section_validates_the_whole_file(tmp_path):
    """A stage asks for its own section, but a typo in another section still stops it."""
    path = write(tmp_path, changed(("train", "seed"), rename="sead"))
    with pytest.raises(ParamsError, match="train.sead"):
        section("validate", path)


def stage_copy(tmp_path: Path, params: dict) -> Path:
    work = tmp_path / "repo"
    (work / "data" / "raw").mkdir(parents=True)  # present, so only the params can be at fault
    write(work, params)
    return work


@pytest.mark.parametrize("stage", ["validate", "labels", "train", "evaluate", "index"])
def test_a_stage_with_bad_params_fails_fast(stage, tmp_path):
    """`python stages/<stage>.py` with a negative weight stops within seconds, naming the key,
    and writes nothing."""
    work = stage_copy(tmp_path, changed(("train", "weights", "own"), -2.0))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(REPO / "stages" / f"{stage}.py")], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode != 0
    assert "train.weights.own" in result.stderr and "greater than or equal to 0" in result.stderr
    assert elapsed < 15, f"{stage} took {elapsed:.1f} s to reject bad params"  # imports included
    assert sorted(p.name for p in work.rglob("*")) == ["data", "params.yaml", "raw"]


def test_validate_stage_rejects_bad_params_in_well_under_a_few_seconds(tmp_path):
    work = stage_copy(tmp_path, changed(("validate", "min_image_side"), rename="min_image_sid"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(REPO / "stages" / "validate.py")], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode == 1
    assert "validate.min_image_sid" in result.stderr and "Traceback" not in result.stderr
    assert elapsed < 5, elapsed
