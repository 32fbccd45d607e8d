"""CLIP and SigLIP backends (image and text towers) on tiny random-weight models built here, offline.

The builders (``tests.encoder_fixtures.build_tiny_clip`` / ``build_tiny_siglip``) write a folder
like a hub snapshot: config + weights, a tokenizer ``AutoTokenizer`` loads, the image processor.
"""
from __future__ import annotations

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from imagesearch.embedding.encoders import vl_common as vl  # noqa: E402
from imagesearch.embedding.encoders.image import IMAGE_ENCODERS, build_image_encoder  # noqa: E402
from imagesearch.embedding.encoders.image_base import load_rgb  # noqa: E402
from imagesearch.embedding.encoders.names import IMAGE_ENCODER_NAMES, TEXT_ENCODER_NAMES  # noqa: E402
from imagesearch.embedding.encoders.text import TEXT_ENCODERS, build_text_encoder, load_text_encoder  # noqa: E402
from imagesearch.embedding.onnx_query import OnnxTextEncoder  # noqa: E402
from tests.encoder_fixtures import (CAPTIONS, PARAPHRASE, UNRELATED, WORDS, build_tiny_clip,  # noqa: E402
                                    build_tiny_siglip, draw_images)

FAMILIES = ("clip", "siglip")
NOT_CACHED = "not in the local cache: run once with network, or point options.model at a folder"
TEXTS = [*CAPTIONS, *PARAPHRASE, UNRELATED, "", "a", "Two DOGS!", "Ünïcödé café",
         "word " * 40]  # the last one is longer than the towers' 16 positions: truncated


DIMS = {"clip": 16, "siglip": 32}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("vl_models")
    return {"clip": build_tiny_clip(root / "clip"), "siglip": build_tiny_siglip(root / "siglip")}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    return draw_images(tmp_path_factory.mktemp("vl_images"), n=5)


def image_encoder(family: str, models: dict[str, Path], **options):
    return build_image_encoder({"encoder": family, "batch_size": 2,
                                "options": {"model": str(models[family]), **options}})


def text_encoder(family: str, models: dict[str, Path], **options):
    return build_text_encoder({"encoder": family, "batch_size": 4,
                               "options": {"model": str(models[family]), **options}})


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim) and vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors.astype(np.float64), axis=1), 1.0, atol=1e-5)


# -- registry ------------------------------------------------------------------------------------
def test_registered_on_both_sides_and_known_to_params():
    for family in FAMILIES:
        assert family in IMAGE_ENCODERS and family in TEXT_ENCODERS
        assert family in IMAGE_ENCODER_NAMES and family in TEXT_ENCODER_NAMES


@pytest.mark.parametrize("build", [build_image_encoder, build_text_encoder])
def test_bad_options_fail_at_build_time(build):
    with pytest.raises(ValueError, match="needs options.model"):
        build({"encoder": "clip"})
    with pytest.raises(ValueError, match="unknown options"):
        build({"encoder": "siglip", "options": {"model": "x", "modle": "y"}})
    with pytest.raises(ValueError, match="options.device must be one of"):
        build({"encoder": "clip", "options": {"model": "x", "device": "tpu"}})


def test_building_loads_nothing(models):
    encoder = image_encoder("clip", models)
    assert encoder._model is None and encoder.dim == 16 and encoder.crop_size == 32
    assert text_encoder("siglip", models).dim == 32


# -- image towers --------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_image_vectors_unit_and_byte_stable(family, models, images):
    encoder = image_encoder(family, models)
    vectors = encoder.encode(images)
    assert_unit_rows(vectors, len(images), DIMS[family])
    again = image_encoder(family, models).encode(images, batch_size=3)  # a fresh model, other batches
    assert again.tobytes() == vectors.tobytes()
    with Image.open(images[1]) as upload:  # an uploaded PIL image encodes like its file
        assert encoder.encode(upload.copy()).tobytes() == vectors[1:2].tobytes()
    assert np.max(vectors[1:] @ vectors[0]) < 0.99999


@pytest.mark.parametrize("family", FAMILIES)
def test_image_vectors_are_the_models_get_image_features(family, models, images):
    """Our Pillow preprocessing equals transformers' PIL image processor, and the vectors equal
    the full model's ``get_image_features`` on its output (float64, normalised)."""
    import torch
    import transformers
    from transformers import AutoImageProcessor

    encoder = image_encoder(family, models)
    processor = AutoImageProcessor.from_pretrained(models[family], backend="pil")
    pil_images = [load_rgb(p) for p in images]
    expected_pixels = processor(images=pil_images, return_tensors="np")["pixel_values"]
    crops = np.stack([encoder.prepare(p) for p in images])
    recipe = encoder.recipe
    ours = (crops.transpose(0, 3, 1, 2) * recipe.rescale - np.array(recipe.mean)[:, None, None]) \
        / np.array(recipe.std)[:, None, None]
    np.testing.assert_allclose(ours, expected_pixels, atol=1e-5)

    full = getattr(transformers, encoder.model_class).from_pretrained(models[family]).eval().double()
    with torch.inference_mode():
        out = full.get_image_features(pixel_values=torch.from_numpy(expected_pixels).double())
    reference = getattr(out, "pooler_output", out).numpy()
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    np.testing.assert_allclose(encoder.encode(images), reference, atol=2e-6)


def test_float32_precision_is_a_separate_cache_of_the_same_model(models, images):
    exact, fast = image_encoder("clip", models), image_encoder("clip", models, precision="float32")
    assert exact.fingerprint() != fast.fingerprint()
    np.testing.assert_allclose(fast.encode(images), exact.encode(images), atol=2e-5)
    with pytest.raises(ValueError, match="precision must be one of"):
        image_encoder("clip", models, precision="float16")


# -- text towers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_text_vectors_unit_and_byte_stable(family, models):
    encoder = text_encoder(family, models)
    vectors = encoder.encode(TEXTS)
    assert_unit_rows(vectors, len(TEXTS), DIMS[family])
    assert text_encoder(family, models).encode(TEXTS, batch_size=1).tobytes() == vectors.tobytes()
    assert encoder.encode(TEXTS[3]).tobytes() == vectors[3:4].tobytes()
    assert len({row.tobytes() for row in vectors[:len(CAPTIONS)]}) == len(CAPTIONS)


@pytest.mark.parametrize("family", FAMILIES)
def test_text_vectors_are_the_models_get_text_features(family, models):
    import torch
    import transformers
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(models[family])
    padding = "max_length" if family == "siglip" else True  # SigLIP: as trained, no mask
    tokens = tokenizer(TEXTS, padding=padding, truncation=True, max_length=16, return_tensors="pt")
    inputs = {"input_ids": tokens["input_ids"]}
    if family == "clip":
        inputs["attention_mask"] = tokens["attention_mask"]
    full = getattr(transformers, text_encoder(family, models).model_class).from_pretrained(
        models[family]).eval().double()
    with torch.inference_mode():
        out = full.get_text_features(**inputs)
    reference = getattr(out, "pooler_output", out).numpy()
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    np.testing.assert_allclose(text_encoder(family, models).encode(TEXTS), reference, atol=2e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_text_tower_has_an_onnx_copy_that_search_uses(family, models, tmp_path):
    from imagesearch.serving.searcher import load_query_encoder

    encoder = text_encoder(family, models)
    encoder.save(tmp_path / "text_encoder")
    onnx_dir = tmp_path / "text_encoder" / "onnx"
    assert {p.name for p in onnx_dir.iterdir()} >= {"model.onnx", "tokenizer.json", "onnx_text.json"}
    config = json.loads((onnx_dir / "onnx_text.json").read_text())
    assert config["dim"] == DIMS[family] and config["max_length"] == 16
    assert config["source"] == {"encoder": family, "options": {"model": str(models[family])}}

    query_encoder = load_query_encoder(tmp_path)
    assert isinstance(query_encoder, OnnxTextEncoder)
    expected = encoder.encode(TEXTS)
    for got in (query_encoder.encode(TEXTS), query_encoder.encode(TEXTS, batch_size=3),
                np.concatenate([query_encoder.encode(t) for t in TEXTS])):
        assert got.shape == expected.shape and got.dtype == np.float32
        assert float((got.astype(np.float64) * expected).sum(1).min()) > 0.9999
        np.testing.assert_allclose(got, expected, atol=1e-4)

    restored = load_text_encoder(tmp_path / "text_encoder")
    assert restored.fingerprint() == encoder.fingerprint()
    assert restored.encode(TEXTS).tobytes() == expected.tobytes()


@pytest.mark.parametrize("family", FAMILIES)
def test_the_onnx_copy_encodes_without_torch(family, models, tmp_path):
    text_encoder(family, models).export_onnx(tmp_path / "onnx")
    code = (
        "import sys\n"
        "from imagesearch.embedding.onnx_query import OnnxTextEncoder\n"
        f"v = OnnxTextEncoder.load({str(tmp_path / 'onnx')!r}).encode(['a dog runs', 'two people'])\n"
        f"assert v.shape == (2, {DIMS[family]}), v.shape\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- model resolution, cache keys, determinism ---------------------------------------------------
@pytest.mark.parametrize("build", [build_image_encoder, build_text_encoder])
@pytest.mark.parametrize("model, detail", [("/nonexistent/clip-folder", "no such folder"),
                                           ("imagesearch-tests/no-such-model", "HF_HUB_OFFLINE")])
def test_missing_model_fails_clearly(build, model, detail):
    encoder = build({"encoder": "clip", "options": {"model": model}})  # building stays cheap
    with pytest.raises(FileNotFoundError, match=f"{model}: {NOT_CACHED} .*{detail}"):
        encoder.fingerprint()
    with pytest.raises(FileNotFoundError, match=NOT_CACHED):
        encoder.encode(["a dog"] if build is build_text_encoder else [Image.new("RGB", (40, 40))])


def test_a_folder_without_a_model_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model files"):
        build_image_encoder({"encoder": "siglip", "options": {"model": str(tmp_path)}}).fingerprint()


@pytest.mark.parametrize("family", FAMILIES)
def test_device_is_no_part_of_the_cache_key_or_outputs(family, models, tmp_path):
    for build in (image_encoder, text_encoder):
        plain = build(family, models)
        for device in ("cpu", "auto"):
            placed = build(family, models, device=device)
            assert placed.device_option == device and "device" not in placed.options
            assert placed.fingerprint() == plain.fingerprint()
            assert placed.describe() == plain.describe()
    text_encoder(family, models, device="cpu").save(tmp_path / "saved")
    assert "device" not in (tmp_path / "saved" / "encoder.json").read_text()


def test_weights_and_not_their_path_make_the_cache_key(models, tmp_path):
    import shutil

    copy = Path(shutil.copytree(models["clip"], tmp_path / "copy"))
    other = build_tiny_clip(tmp_path / "other", seed=1)
    for build in (image_encoder, text_encoder):
        base = build("clip", models)
        assert build("clip", {"clip": copy}).fingerprint() == base.fingerprint()
        assert build("clip", {"clip": other}).fingerprint() != base.fingerprint()


def test_same_bytes_with_one_or_two_threads(models, images):
    import torch

    before = torch.get_num_threads()
    try:
        out = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out[threads] = [image_encoder(f, models).encode(images).tobytes() for f in FAMILIES] + \
                           [text_encoder(f, models).encode(TEXTS).tobytes() for f in FAMILIES]
        assert out[1] == out[2]
    finally:
        torch.set_num_threads(before)


def test_the_two_sides_hash_one_model_alike(models):
    """Both towers resolve the folder through vl_common: one weights hash, so the zero-shot
    cosine between their vectors is recognised as meaningful."""
    for family in FAMILIES:
        image, text = image_encoder(family, models).describe(), text_encoder(family, models).describe()
        assert image["weights_sha256"] == text["weights_sha256"]
        assert vl.shares_vision_language_model(image, text)
    other = text_encoder(FAMILIES[1], models).describe()
    assert not vl.shares_vision_language_model(image_encoder(FAMILIES[0], models).describe(), other)


# -- zero-shot similarity ------------------------------------------------------------------------
def test_zero_shot_cosine_of_one_models_vectors(models, images):
    image_side, text_side = image_encoder("clip", models), text_encoder("clip", models)
    image_vectors, text_vectors = image_side.encode(images), text_side.encode(CAPTIONS[:5])
    grid = vl.zero_shot_cosine(image_vectors, text_vectors)
    assert grid.shape == (5, 5) and grid.dtype == np.float32
    np.testing.assert_allclose(grid, image_vectors @ text_vectors.T, atol=1e-6)
    np.testing.assert_allclose(vl.zero_shot_cosine(image_vectors, text_vectors, pairs=True),
                               np.diag(grid), atol=1e-7)
    assert np.all(np.abs(grid) <= 1.0 + 1e-6)
    with pytest.raises(ValueError, match="one model"):
        vl.zero_shot_cosine(image_vectors, text_encoder("siglip", models).encode(CAPTIONS[:5]))
    with pytest.raises(ValueError, match="as many images as texts"):
        vl.zero_shot_cosine(image_vectors, text_vectors[:3], pairs=True)

    assert vl.shares_vision_language_model(image_side.describe(), text_side.describe())
    assert not vl.shares_vision_language_model(image_side.describe(),
                                               text_encoder("siglip", models).describe())
    assert not vl.shares_vision_language_model(
        build_image_encoder({"encoder": "efficientnet-lite0"}).describe(), text_side.describe())
