"""Same bytes on every x86-64 CPU: vectors and pipeline outputs under two CPU code paths.

Another machine runs other kernels (AVX-512 or AVX2, other thread counts); this machine is made
to run them too (``tests/cpu_paths.py``), and every encoder's vectors, then every output of
``dvc repro`` from the features to ``metrics/`` and ``dvc.lock``, must be the same bytes.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cpu_paths
from tests.encoder_fixtures import CAPTIONS, PARAPHRASE, UNRELATED, draw_images, text_options
from tests.pipeline_repo import REPO, dvc, environment, make_pipeline_repo

pytestmark = pytest.mark.slow  # every encoder and two full dvc repro under two CPU code paths

TEXT_BACKENDS = ("minilm", "use", "tfidf", "tfhub", "clip", "siglip")


def probe(spec: Path, env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run([sys.executable, "-m", "tests.encode_probe", str(spec)], cwd=REPO,
                            env=dict(env, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"),
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_forced_path_really_runs_other_kernels(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"images": [], "texts": [], "image": {}, "text": {}}))
    best, forced = probe(spec, cpu_paths.best()), probe(spec, cpu_paths.forced())
    assert forced["capability"] == "DEFAULT" and forced["threads"] == 1
    assert best["capability"] != "DEFAULT"


def test_every_encoder_gives_the_same_bytes_under_two_cpu_code_paths(
        tmp_path: Path, image_params: dict, tf_models: dict, vl_models: dict) -> None:  # noqa: F811
    images = [str(path) for path in draw_images(tmp_path / "images", n=6)]
    texts = [*CAPTIONS, *PARAPHRASE, UNRELATED]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({
        "images": images, "texts": texts, "image": image_params,
        "text": {name: text_options(name, tf_models, vl_models) for name in TEXT_BACKENDS}}))
    best, forced = probe(spec, cpu_paths.best()), probe(spec, cpu_paths.forced())
    differing = sorted(key for key in best if ":" in key and best[key] != forced[key])
    assert len([key for key in best if ":" in key]) == len(image_params) + len(TEXT_BACKENDS)
    assert differing == []


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> tuple[Path, Path]:
    """The tiny pipeline reproduced twice from scratch: best kernels, then the forced path."""
    envs = {"best": cpu_paths.best(), "forced": cpu_paths.forced()}
    repos = {name: make_pipeline_repo(tmp_path_factory.mktemp(name) / "repo", tiny_dataset)
             for name in envs}  # both copies first: the same code, even if the tree is edited meanwhile
    for name, repo in repos.items():
        result = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=repo, capture_output=True,
                                text=True, env=dict(envs[name], PYTHONPATH=str(repo), HF_HUB_OFFLINE="1",
                                                    TRANSFORMERS_OFFLINE="1", PATH=environment(repo)["PATH"]))
        assert result.returncode == 0, result.stderr[-4000:]
    return repos["best"], repos["forced"]


def outputs(repo: Path) -> dict[str, bytes]:
    files = [repo / "dvc.lock", *sorted((repo / "metrics").rglob("*")),
             *sorted((repo / "data" / "features").glob("*.npz"))]
    return {str(path.relative_to(repo)): path.read_bytes() for path in files if path.is_file()}


def test_pipeline_outputs_are_byte_identical_under_two_cpu_code_paths(two_runs) -> None:
    best, forced = (outputs(repo) for repo in two_runs)
    assert set(best) == set(forced)
    assert {"dvc.lock", "metrics/cv.json", "metrics/test.json", "data/features/texts.npz",
            "data/features/images.npz"} <= set(best)
    assert [name for name in best if best[name] != forced[name]] == []
    assert dvc(two_runs[1], "status").stdout.strip() == "Data and pipelines are up to date."
