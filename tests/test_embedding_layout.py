"""The embedding package's layout (text side free of image-encoder code) and its shared helpers."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from imagesearch.embedding.vectors import l2_normalise
from imagesearch.hashing import hash_file, hash_tree
from tests.code_deps import code_closure

REPO = Path(__file__).resolve().parents[1]
ENCODERS = "imagesearch/embedding/encoders/"
IMAGE_ONLY = {ENCODERS + f"{name}.py" for name in (
    "image", "image_base", "efficientnet", "resnet", "tfhub_image", "concat", "vision_language")} | {
    "imagesearch/embedding/images.py"}
TEXT_ONLY = {ENCODERS + f"{name}.py" for name in (
    "text", "text_base", "minilm", "use", "tfidf", "tfhub_text", "vision_language_text", "onnx_export")} | {
    "imagesearch/embedding/texts.py"}


def test_embed_texts_runs_every_text_backend_module_and_no_image_encoder_code():
    closure = code_closure(REPO, Path("stages/embed_texts.py"))
    assert TEXT_ONLY <= closure, sorted(TEXT_ONLY - closure)
    assert ENCODERS + "tfhub.py" in closure
    assert not closure & IMAGE_ONLY, sorted(closure & IMAGE_ONLY)


def test_embed_images_runs_every_image_backend_module_and_no_text_encoder_code():
    closure = code_closure(REPO, Path("stages/embed_images.py"))
    assert IMAGE_ONLY <= closure, sorted(IMAGE_ONLY - closure)
    assert not closure & TEXT_ONLY, sorted(closure & TEXT_ONLY)


def test_one_normaliser_and_one_hasher_in_the_package():
    """No module defines its own copy again."""
    for path in (REPO / "imagesearch").rglob("*.py"):
        text = path.read_text()
        name = path.relative_to(REPO).as_posix()
        if name != "imagesearch/embedding/vectors.py":
            assert "def l2_normali" not in text, name
        if name != "imagesearch/hashing.py":
            assert "def hash_file" not in text and "def sha256_file" not in text, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unit_rows_and_zero_rows_stay_zero(dtype):
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(6, 5)).astype(dtype) * np.array([[1e-6], [1], [1e3], [0], [7], [1e8]])
    out = l2_normalise(matrix)
    assert out.dtype == np.float32 and out.shape == matrix.shape
    assert np.all(out[3] == 0)
    norms = np.linalg.norm(out[[0, 1, 2, 4, 5]].astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-6)


def test_float64_is_computed_in_float64_then_cast():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(200, 33))
    expected = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    via_float32 = matrix.astype(np.float32)
    via_float32 = via_float32 / np.linalg.norm(via_float32, axis=1, keepdims=True)
    out = l2_normalise(matrix)
    assert out.tobytes() == expected.tobytes()
    assert out.tobytes() != via_float32.tobytes()  # the dtype of the arithmetic is visible


def test_float32_input_matches_the_former_encoder_normaliser():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(50, 17)).astype(np.float32)
    vectors[7] = 0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    former = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
    assert l2_normalise(vectors).tobytes() == former.tobytes()


def test_matches_the_former_eps_variant_away_from_tiny_norms():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(40, 9))
    matrix[4] = 0
    former = (matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    assert l2_normalise(matrix).tobytes() == former.tobytes()


def test_rejects_non_matrices():
    with pytest.raises(ValueError, match="2-d"):
        l2_normalise(np.ones(3))


def test_hashes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00" * 3_000_000)
    (tmp_path / "a.txt").write_bytes(b"hello")
    assert hash_file(tmp_path / "a.txt") == hashlib.sha256(b"hello").hexdigest()
    assert hash_file(tmp_path / "sub" / "b.bin", chunk=1000) == hashlib.sha256(b"\x00" * 3_000_000).hexdigest()
    assert hash_tree(tmp_path / "a.txt") == hash_file(tmp_path / "a.txt")
    before = hash_tree(tmp_path)
    (tmp_path / "sub" / "b.bin").rename(tmp_path / "sub" / "c.bin")
    assert hash_tree(tmp_path) != before  # names count, not only bytes
