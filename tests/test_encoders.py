"""Every image and text backend, on tiny inputs made here (offline, CPU)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagesearch.embedding.encoders.image import IMAGE_ENCODERS, build_image_encoder
from imagesearch.embedding.encoders.text import TEXT_ENCODERS, build_text_encoder, load_text_encoder
from tests.encoder_fixtures import (
    CAPTIONS,
    PARAPHRASE,
    UNRELATED,
    draw_images,
    text_options,
)


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> list[Path]:
    return draw_images(tmp_path_factory.mktemp("images"), n=5)


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# -- registry ------------------------------------------------------------------------------------
def test_registries_know_the_backends():
    assert set(IMAGE_ENCODERS) == {"clip", "concat", "efficientnet-lite0", "efficientnet-lite1",
                                   "efficientnet-lite2", "resnet18", "resnet50", "siglip", "tfhub"}
    assert set(TEXT_ENCODERS) == {"minilm", "tfidf", "use", "tfhub", "clip", "siglip"}


@pytest.mark.parametrize("build", [build_image_encoder, build_text_encoder])
def test_unknown_encoder_lists_known_ones(build):
    with pytest.raises(ValueError, match=r"unknown .* encoder 'nope'; known: .*"):
        build({"encoder": "nope"})


def test_a_backend_registers_only_under_a_listed_name():
    with pytest.raises(ValueError, match="'vit' is not listed in encoders/names.py"):
        IMAGE_ENCODERS.register("vit")
    assert "vit" not in IMAGE_ENCODERS


def test_params_and_the_registries_import_no_encoder_code():
    """The names and the tables are leaves: validating params loads no backend, torch or numpy."""
    import subprocess
    import sys

    code = ("import sys, imagesearch.params, imagesearch.embedding.encoders.registry\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'PIL', 'tqdm')\n"
            "             or m.startswith('imagesearch.embedding.encoders.') and not m.endswith(\n"
            "                 ('.names', '.registry', '.base'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"


def test_bad_params_fail_at_build_time():
    with pytest.raises(ValueError, match="unknown image encoder params"):
        build_image_encoder({"encoder": "resnet18", "weights_path": "x"})
    with pytest.raises(ValueError, match="options.handle"):
        build_image_encoder({"encoder": "tfhub"})
    with pytest.raises(ValueError, match="batch_size"):
        build_text_encoder({"encoder": "minilm", "batch_size": 0})


def test_building_is_cheap_and_loads_nothing():
    encoder = build_image_encoder({"encoder": "efficientnet-lite0"})
    assert encoder._model is None and encoder.dim == 1280
    assert len(encoder.fingerprint()) == 64


# -- image backends ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(IMAGE_ENCODERS))
def test_image_backend(name, images, image_params):
    assert set(image_params) == set(IMAGE_ENCODERS), "every image backend needs test params"
    encoder = build_image_encoder({"encoder": name, "batch_size": 2, "options": image_params[name]})
    vectors = encoder.encode(images)
    assert_unit_rows(vectors, len(images), encoder.dim)
    # deterministic, order-preserving and batch-size independent
    np.testing.assert_allclose(encoder.encode(images[::-1], batch_size=3), vectors[::-1], atol=1e-5)
    # a single uploaded PIL image encodes like its file
    with Image.open(images[1]) as upload:
        np.testing.assert_allclose(encoder.encode(upload.copy()), vectors[1:2], atol=1e-5)
    # different pictures give different vectors
    assert np.max(vectors[1:] @ vectors[0]) < 0.99999


def test_concat_is_its_parts_side_by_side_with_equal_weight(images):
    parts = [{"encoder": "efficientnet-lite0"}, {"encoder": "efficientnet-lite0", "options": {"image_size": 160}}]
    concat = build_image_encoder({"encoder": "concat", "batch_size": 2, "options": {"encoders": parts}})
    separate = [build_image_encoder(part).encode(images) for part in parts]
    assert concat.dim == 2560
    np.testing.assert_allclose(concat.encode(images), np.hstack(separate) / np.sqrt(2), atol=1e-5)
    # the cache key follows every part's options; batch size is no part of it
    other = build_image_encoder({"encoder": "concat", "options": {"encoders": parts[:1] + [
        {"encoder": "efficientnet-lite0", "options": {"image_size": 192}}]}})
    assert other.fingerprint() != concat.fingerprint()
    rebatched = build_image_encoder({"encoder": "concat", "batch_size": 7, "options": {"encoders": parts}})
    assert rebatched.fingerprint() == concat.fingerprint()


@pytest.mark.parametrize("options, problem", [
    ({}, "needs options.encoders"),
    ({"encoders": [{"encoder": "efficientnet-lite0"}]}, "two or more"),
    ({"encoders": [{"encoder": "efficientnet-lite0"}, {"encoder": "concat"}]}, "other than concat"),
    ({"encoders": [{"encoder": "efficientnet-lite0"}, "resnet18"]}, "params section"),
    ({"encoders": [{"encoder": "efficientnet-lite0"}, {"encoder": "vit"}]}, "unknown image encoder 'vit'"),
])
def test_concat_options_fail_clearly(options, problem):
    with pytest.raises(ValueError, match=problem):
        build_image_encoder({"encoder": "concat", "options": options})


def test_efficientnet_lite0_matches_reference_preprocessing(images):
    """Our PIL pipeline equals torchvision's Resize(256) + CenterCrop(224) + mean=std=0.5."""
    import torch
    import torchvision.transforms as T

    encoder = build_image_encoder({"encoder": "efficientnet-lite0"})
    ref = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    x = torch.stack([ref(Image.open(p).convert("RGB")) for p in images]).double()  # the model runs in float64
    with torch.inference_mode():
        expected = encoder.model.extract_features(x).mean((2, 3)).numpy()
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    cosines = np.sum(encoder.encode(images) * expected, axis=1)
    assert np.all(cosines > 0.999), cosines


def test_float32_precision_is_the_same_model_within_float_tolerance(images):
    exact = build_image_encoder({"encoder": "efficientnet-lite0"})
    fast = build_image_encoder({"encoder": "efficientnet-lite0", "options": {"precision": "float32"}})
    assert exact.fingerprint() != fast.fingerprint()  # their caches are kept apart
    np.testing.assert_allclose(fast.encode(images), exact.encode(images), atol=2e-5)
    with pytest.raises(ValueError, match="precision must be one of"):
        build_image_encoder({"encoder": "efficientnet-lite0", "options": {"precision": "float16"}})


def test_resnet_weights_change_the_vectors(images, resnet_weights, tmp_path):
    import torch
    import torchvision

    torch.manual_seed(1)
    other = tmp_path / "other.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), other)
    a = build_image_encoder({"encoder": "resnet18", "options": {"weights_path": str(resnet_weights["resnet18"])}})
    b = build_image_encoder({"encoder": "resnet18", "options": {"weights_path": str(other)}})
    assert a.fingerprint() != b.fingerprint()
    assert not np.allclose(a.encode(images[:2]), b.encode(images[:2]))


def test_resnet_without_weights_offline_fails_clearly(images, monkeypatch):
    import urllib.error

    import torch.hub

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(Path("/nonexistent")))
    encoder = build_image_encoder({"encoder": "resnet18"})
    with pytest.raises(RuntimeError, match="weights_path"):
        encoder.encode(images[:1])


# -- text backends -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TEXT_ENCODERS))
def test_text_backend_and_save_load(name, tf_models, vl_models, tmp_path):
    encoder = build_text_encoder({"encoder": name, "batch_size": 4,
                                  "options": text_options(name, tf_models, vl_models)})
    encoder.fit(CAPTIONS)
    queries = CAPTIONS + list(PARAPHRASE) + [UNRELATED]
    vectors = encoder.encode(queries)
    assert_unit_rows(vectors, len(queries), encoder.dim)
    # a text's vector does not depend on its batch: the same bytes alone, reordered or among others
    # (a stage embeds only what the cache lacks, so the batches differ from run to run)
    np.testing.assert_array_equal(encoder.encode(queries[::-1], batch_size=1), vectors[::-1])
    np.testing.assert_array_equal(encoder.encode(queries[2:5], batch_size=2), vectors[2:5])
    assert encoder.encode("one query").shape == (1, encoder.dim)

    encoder.save(tmp_path / "saved")
    restored = load_text_encoder(tmp_path / "saved")
    assert restored.name == name and restored.dim == encoder.dim
    assert restored.fingerprint() == encoder.fingerprint()
    np.testing.assert_array_equal(restored.encode(queries), vectors)


@pytest.mark.parametrize("name", ["minilm", "use"])
def test_caption_is_closer_to_paraphrase_than_to_unrelated(name):
    encoder = build_text_encoder({"encoder": name})
    caption, paraphrase, unrelated = encoder.encode([CAPTIONS[0], PARAPHRASE[0], UNRELATED])
    assert caption @ paraphrase > caption @ unrelated + 0.2


def test_tfidf_needs_fitting_and_a_sensible_dim():
    encoder = build_text_encoder({"encoder": "tfidf", "options": {"dim": 4}})
    with pytest.raises(RuntimeError, match="not fitted"):
        encoder.encode(["a dog"])
    with pytest.raises(ValueError, match="too large"):
        build_text_encoder({"encoder": "tfidf", "options": {"dim": 50}}).fit(CAPTIONS)


def test_tfidf_state_is_part_of_the_fingerprint():
    a = build_text_encoder({"encoder": "tfidf", "options": {"dim": 3}}).fit(CAPTIONS)
    b = build_text_encoder({"encoder": "tfidf", "options": {"dim": 3}}).fit(CAPTIONS)
    c = build_text_encoder({"encoder": "tfidf", "options": {"dim": 3}}).fit(CAPTIONS[:-1])
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    unknown = a.encode(["zzz qqq"])  # no known term: the zero vector, not NaN
    assert np.all(unknown == 0)
