"""Vector files are byte-stable: the same arrays give the same file on any machine and Python.

``dvc.lock`` hashes the ``.npz`` files; with ``np.savez`` the container (timestamps, zip64 fields
that changed in Python 3.11.7) moved the hash while the arrays stayed equal.
"""
from __future__ import annotations

import hashlib
import time
import zipfile

import numpy as np

from imagesearch.embedding.vectors import VectorSet, load_vectors, save_vectors

# sha256 of the file below, written once; a Python or numpy upgrade that changes it fails here
# before it moves every dvc.lock hash downstream of the embeddings.
GOLDEN_SHA256 = "9562be6e36484cadc3b4af9e0b52e1b2310aca2f22d09e140c014355f884cb5b"


def _tiny() -> VectorSet:
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    return VectorSet(("a.jpg", "b.jpg", "с.jpg"), vectors, {"name": "tiny", "options": {"k": 1}})


def test_same_arrays_same_bytes_whenever_written(tmp_path) -> None:
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_vectors(first, _tiny())
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    save_vectors(second, _tiny())
    assert first.read_bytes() == second.read_bytes()


def test_round_trip_and_fixed_headers(tmp_path) -> None:
    path = tmp_path / "v.npz"
    save_vectors(path, _tiny())
    loaded = load_vectors(path)
    assert loaded.ids == _tiny().ids and loaded.encoder == _tiny().encoder
    assert np.array_equal(loaded.vectors, _tiny().vectors) and loaded.vectors.dtype == np.float32
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["encoder.npy", "ids.npy", "vectors.npy"]
    assert {(i.date_time, i.compress_type, i.create_system, i.extra) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), zipfile.ZIP_STORED, 3, b"")}


def test_golden_bytes(tmp_path) -> None:
    path = tmp_path / "v.npz"
    save_vectors(path, _tiny())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN_SHA256
