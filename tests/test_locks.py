"""The serve lock: generated from pyproject's core and ``serve`` extra, held to the full lock's
versions, hashed, and without the libraries that only build the index."""
from __future__ import annotations

from tests.serve_lock import FULL_LOCK, SERVE_LOCK, modules_outside_serve_lock, pins, serve_profile, unhashed

# Training (the relevance model, the visual classifier), tables, encoders: the pipeline's install.
PIPELINE_ONLY = {"scikit-learn", "scipy", "xgboost", "xgboost-cpu", "pandas", "joblib", "nltk", "torch",
                 "torchvision", "transformers", "sentence-transformers", "tensorflow", "tensorflow-cpu", "dvc"}


def test_the_serve_lock_leaves_out_what_only_builds_the_index():
    assert set(pins(SERVE_LOCK)) & PIPELINE_ONLY == set()
    assert {"sklearn", "scipy", "xgboost", "pandas", "joblib", "torch"} <= modules_outside_serve_lock()


def test_the_serve_lock_is_what_pyproject_resolves_to_at_the_full_locks_versions_with_hashes():
    served, full = pins(SERVE_LOCK), pins(FULL_LOCK)
    assert set(served) == serve_profile() - {"imagesearch"}  # regenerate it: the command in its header
    assert {name: version for name, version in served.items() if full.get(name) != version} == {}
    assert unhashed(SERVE_LOCK) == []


def test_pyprojects_serve_profile_resolves_without_the_training_libraries():
    assert serve_profile() & PIPELINE_ONLY == set()
