"""One switch, outside the outputs: IMAGESEARCH_SCHEDULER runs heavy stages on Dask, same bytes."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imagesearch.cluster import ENV, scheduler_spec
from tests.pipeline_repo import dvc, environment, make_pipeline_repo, set_param

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("value, expected", [("", None), ("local:2", ("local", 2)),
                                             ("tcp://10.0.0.5:8786", ("tcp", "tcp://10.0.0.5:8786"))])
def test_the_variable_names_the_scheduler(monkeypatch, value, expected) -> None:
    monkeypatch.setenv(ENV, value)
    assert scheduler_spec() == expected


@pytest.mark.parametrize("value", ["local:0", "local:two", "dask", "http://host:8786"])
def test_a_bad_value_is_a_clear_error(monkeypatch, value) -> None:
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ValueError, match=f"{ENV}=.*(local:N|N >= 1)"):
        scheduler_spec()


def test_embed_images_on_a_local_cluster_writes_the_same_bytes(tmp_path: Path, tiny_dataset: Path) -> None:
    repo = make_pipeline_repo(tmp_path / "repo", tiny_dataset)
    set_param(repo, ("embed_images", "batch_size"), 2)  # 24 images: 2 tasks of 8 batches of 2
    dvc(repo, "repro", "embed_images")  # in this process
    vectors = repo / "data" / "features" / "images.npz"
    in_process, lock = vectors.read_bytes(), (repo / "dvc.lock").read_bytes()

    shutil.rmtree(repo / "data" / "cache")  # nothing cached: the workers embed every image
    env = dict(environment(repo), **{ENV: "local:2"})
    run = subprocess.run([sys.executable, "-m", "dvc", "repro", "-f", "-s", "embed_images"], cwd=repo,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    log = run.stdout + run.stderr
    assert "Dask cluster local:2: 2 workers, dashboard http" in log, log[-3000:]
    assert "embed images (efficientnet-lite1, cluster): 100%" in log and "2/2" in log
    assert vectors.read_bytes() == in_process
    assert (repo / "dvc.lock").read_bytes() == lock
