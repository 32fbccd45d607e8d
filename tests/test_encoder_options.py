"""Options of the image backends: flip test-time augmentation and a larger input (offline, CPU)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from imagesearch.embedding.encoders.image import build_image_encoder
from tests.encoder_fixtures import draw_images

LITE0 = "efficientnet-lite0"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Image.Image]:
    """Square pictures (the centre crop of a square is itself mirror-symmetric), in memory."""
    paths = draw_images(tmp_path_factory.mktemp("option_images"), n=3, seed=3)
    out = []
    for size, path in zip((256, 300, 320), paths):
        with Image.open(path) as image:
            out.append(image.convert("RGB").resize((size, size)))
    return out


@pytest.fixture(scope="module")
def default_encoder():
    return build_image_encoder({"encoder": LITE0, "batch_size": 2})


def encoder(options: dict):
    return build_image_encoder({"encoder": LITE0, "batch_size": 2, "options": options})


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_defaults_are_unchanged(default_encoder):
    assert (default_encoder.crop_size, default_encoder.resize_size) == (224, 256)
    assert default_encoder.options == {}
    # the default's cache key does not mention the new options
    assert "tta_flip" not in str(default_encoder.identity())


@pytest.mark.slow  # Lite2 with flip TTA, twice
def test_flip_tta_shapes_norms_determinism(images, default_encoder):
    tta = encoder({"tta_flip": True})
    vectors = tta.encode(images)
    assert_unit_rows(vectors, len(images), 1280)
    np.testing.assert_allclose(tta.encode(images[::-1], batch_size=3), vectors[::-1], atol=1e-5)
    # it is a different vector from the plain one (but close: same picture), and a new cache key
    plain = default_encoder.encode(images)
    cosines = np.sum(vectors * plain, axis=1)
    assert np.all(cosines < 0.99999) and np.all(cosines > 0.8), cosines
    assert tta.fingerprint() != default_encoder.fingerprint()


def test_flip_tta_gives_a_mirrored_image_the_same_vector(images, default_encoder):
    mirrored = [ImageOps.mirror(image) for image in images]
    tta = encoder({"tta_flip": True})
    np.testing.assert_allclose(tta.encode(mirrored), tta.encode(images), atol=1e-5)
    # without the option a mirrored picture is a different vector (so the test above means something)
    plain = np.sum(default_encoder.encode(mirrored) * default_encoder.encode(images), axis=1)
    assert np.all(plain < 0.9999), plain


@pytest.mark.parametrize("options", [{"image_size": 288, "resize": 320},
                                     {"image_size": 288, "resize": 320, "tta_flip": True}])
def test_larger_input(images, default_encoder, options):
    big = encoder(options)
    assert (big.crop_size, big.resize_size) == (288, 320)
    assert big.prepare(images[0]).shape == (288, 288, 3)
    vectors = big.encode(images)
    assert_unit_rows(vectors, len(images), 1280)
    np.testing.assert_allclose(big.encode(images), vectors, atol=1e-5)
    assert big.fingerprint() != default_encoder.fingerprint()
    assert np.all(np.sum(vectors * default_encoder.encode(images), axis=1) < 0.99999)


def test_image_size_alone_keeps_the_resize_ratio():
    assert encoder({"image_size": 280}).resize_size == 320  # 280 * 256 / 224
    # the default values, spelled out, are the default encoder's geometry
    same = encoder({"image_size": 224, "resize": 256})
    assert (same.crop_size, same.resize_size) == (224, 256)


@pytest.mark.parametrize("options", [{"image_size": 300, "resize": 256}, {"image_size": 0}])
def test_bad_sizes_fail_at_build_time(options):
    with pytest.raises(ValueError, match="image_size"):
        encoder(options)
