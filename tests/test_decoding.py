"""The two-stage index's fast float16 decoding gives exactly the bits of the slow path."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from imagesearch.serving.decoding import GRAPH_PATH, IvfVectors, graph_bytes, to_float32
from imagesearch.serving.two_stage import CandidateIndex

REPO = Path(__file__).resolve().parents[1]


def every_float16() -> np.ndarray:
    return np.arange(2 ** 16, dtype=np.uint32).astype(np.uint16).view(np.float16).reshape(256, 256)


def test_the_cast_gives_numpys_bits_for_every_float16() -> None:
    values = every_float16()
    fast, slow = to_float32(values), values.astype(np.float32)
    assert fast.dtype == np.float32 and fast.shape == slow.shape
    number = ~np.isnan(slow)
    assert np.array_equal(fast.view(np.uint32)[number], slow.view(np.uint32)[number])  # subnormals, inf, -0
    assert np.isnan(fast[~number]).all()


def test_other_inputs_go_through_numpy() -> None:
    assert to_float32(np.zeros((0, 4), np.float16)).shape == (0, 4)
    column = np.arange(5, dtype=np.float16)
    assert np.array_equal(to_float32(column), column.astype(np.float32))
    wide = np.linspace(0, 1, 12).reshape(3, 4)
    assert to_float32(wide).dtype == np.float32 and np.array_equal(to_float32(wide), wide.astype(np.float32))


def test_the_stored_graph_is_the_one_the_code_builds() -> None:
    """The serve install has onnxruntime but not onnx: it reads the file; regenerate it with
    `python -m imagesearch.serving.decoding` when graph_bytes changes."""
    assert GRAPH_PATH.read_bytes() == graph_bytes()


def test_without_onnxruntime_the_cast_is_numpys(tmp_path: Path) -> None:
    script = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onnxruntime":
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Absent())
import numpy as np
from imagesearch.serving.decoding import to_float32
values = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float16)
assert np.array_equal(to_float32(values), values.astype(np.float32))
print("onnxruntime" in sys.modules)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "False"


def ivf_index(n: int = 3000, dim: int = 24, residual: bool = True) -> CandidateIndex:
    vectors = np.random.default_rng(1).normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = CandidateIndex.create(dim, "IVF16,SQfp16", vectors, nprobe=4)
    index.index.by_residual = residual  # float16 codes need no training: either way encodes
    index.add(vectors)
    return index


@pytest.mark.parametrize("residual", [True, False])
def test_ivf_vectors_are_faiss_reconstructions(residual: bool) -> None:
    index = ivf_index(residual=residual)
    assert IvfVectors.supports(index.index)
    rows = np.random.default_rng(2).integers(0, len(index), 700)  # unsorted, repeated
    fast = index.reconstruct(rows)  # builds the direct map that reconstruct_batch needs
    assert np.array_equal(fast, index.index.reconstruct_batch(rows))
    assert index.reconstruct(np.zeros(0, np.int64)).shape == (0, index.dim)
    with pytest.raises(IndexError):
        index.reconstruct(np.array([len(index)]))


def test_ivf_vectors_see_rows_added_later() -> None:
    index = ivf_index()
    index.reconstruct(np.arange(10))  # reads the lists as they are
    more = np.random.default_rng(3).normal(size=(40, index.dim)).astype(np.float32)
    index.add(more / np.linalg.norm(more, axis=1, keepdims=True))
    rows = np.arange(len(index) - 45, len(index))
    assert np.array_equal(index.reconstruct(rows), index.index.reconstruct_batch(rows))


def test_other_indexes_keep_faiss_reconstruct() -> None:
    vectors = np.random.default_rng(4).normal(size=(200, 8)).astype(np.float32)
    index = CandidateIndex.build(vectors, "SQfp16")
    assert not IvfVectors.supports(index.index)
    assert np.array_equal(index.reconstruct(np.arange(5)), vectors[:5].astype(np.float16).astype(np.float32))
