"""Vector files: one ``.npz`` per set of embeddings, rows keyed by string ids.

The format every embedding stage writes and every consumer reads:
``ids`` (n,) unicode array, ``vectors`` (n, d) float32 with L2-normalised rows, and ``encoder``,
a JSON string describing the encoder that produced them. :func:`l2_normalise` is the one row
normaliser of the package (encoders, the joint space, two-stage search).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.atomic import atomic_path


def l2_normalise(matrix: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Rows scaled to unit L2 norm, returned as ``dtype`` (float32); all-zero rows stay zero.

    The norms and the division are computed in the input's dtype (float64 stays float64 until
    the final cast), and rows whose norm is not positive are divided by 1. Encoders pass
    ``np.asarray(v, dtype=np.float32)``. The former ``max(norm, 1e-12)`` variants
    (joint_space, two_stage) differ only for rows with ``0 < norm < 1e-12`` (now scaled to
    unit length instead of left tiny) and rows holding NaN (now left as they are instead of all
    NaN).
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(dtype, copy=False)


#: Encoder outputs are rounded to multiples of 2**-QUANTUM_BITS (after normalising in float64).
QUANTUM_BITS = 20


def stable_unit_rows(features: np.ndarray) -> np.ndarray:
    """What every encoder returns: unit rows, float32, identical on every x86-64 CPU.

    Encoders compute in float64 where their runtime allows (torch backends); their results then
    differ between CPU code paths (AVX-512 / AVX2 / scalar kernels, thread counts) by ~1e-16.
    Rows are normalised in float64 and rounded to a 2**-20 grid (~1e-6, far below any effect on
    a cosine); a difference of 1e-16 moves a value across a grid boundary with probability
    ~1e-10, so the rounded float32 vectors come out byte-identical. Float32 compute would differ
    by ~1e-7 and cross boundaries hundreds of times per file; that is why the compute is float64.
    A value of the grid below 1 in magnitude fits exactly in float32's 24-bit mantissa.
    """
    unit = l2_normalise(np.asarray(features, dtype=np.float64), np.float64)
    scale = float(2 ** QUANTUM_BITS)
    return (np.round(unit * scale) / scale).astype(np.float32)


@dataclass(frozen=True)
class VectorSet:
    """Embeddings of a set of items: ``vectors[i]`` belongs to ``ids[i]``."""

    ids: tuple[str, ...]
    vectors: np.ndarray
    encoder: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.ids):
            raise ValueError(
                f"vectors of shape {self.vectors.shape} do not match {len(self.ids)} ids"
            )
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("duplicate ids in a vector set")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def take(self, ids: "list[str] | np.ndarray | tuple[str, ...]") -> np.ndarray:
        """Rows for ``ids`` in that order; KeyError names the first id that is missing."""
        index = {item: row for row, item in enumerate(self.ids)}
        try:
            rows = [index[item] for item in ids]
        except KeyError as err:
            raise KeyError(f"no vector for id {err.args[0]!r}") from None
        return self.vectors[rows]


def save_vectors(path: str | Path, vector_set: VectorSet) -> None:
    """Write a VectorSet atomically as ``.npz`` with byte-stable container bytes (:func:`write_npz`)."""
    with atomic_path(path) as tmp:
        write_npz(tmp, {
            "ids": np.asarray(vector_set.ids, dtype=str),
            "vectors": vector_set.vectors.astype(np.float32),
            "encoder": np.asarray(json.dumps(vector_set.encoder, sort_keys=True)),
        })


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` that ``np.load`` reads, whose bytes depend only on the arrays.

    ``np.savez`` streams each member into the zip with the current time and, from Python
    3.11.7 on, other zip64 header fields than 3.11.2 wrote: identical arrays gave different
    files, so ``dvc.lock`` hashes moved between machines. Here every member is stored
    uncompressed with a fixed date, permissions and creator, its size known before the header
    is written.
    """
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # unix, whatever the writer's OS
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def load_vectors(path: str | Path) -> VectorSet:
    """Read a VectorSet written by :func:`save_vectors`."""
    with np.load(path, allow_pickle=False) as data:
        return VectorSet(
            ids=tuple(str(item) for item in data["ids"]),
            vectors=data["vectors"].astype(np.float32),
            encoder=json.loads(str(data["encoder"])),
        )
