"""A failed stage leaves the git-tracked metrics of its last good run in place."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline_repo import commit_all, dvc, make_pipeline_repo, run


@pytest.mark.slow  # dvc repro in a real repo
def test_failed_validate_keeps_the_last_good_data_quality_metrics(tmp_path: Path, tiny_dataset: Path) -> None:
    repo = make_pipeline_repo(tmp_path / "repo", tiny_dataset)
    dvc(repo, "repro", "validate")
    metrics = repo / "metrics" / "data_quality.json"
    good = metrics.read_bytes()
    commit_all(repo, "good run")
    expert = repo / "data" / "raw" / "ExpertAnnotations.tsv"
    expert.write_text("\n".join(line.split("\t")[0] for line in expert.read_text().splitlines()) + "\n")

    failed = dvc(repo, "repro", "-s", "validate", check=False)

    assert failed.returncode != 0
    assert "ExpertAnnotations.tsv" in failed.stderr + failed.stdout
    assert metrics.read_bytes() == good
    assert "restored the last good run's metrics/data_quality.json" in failed.stderr + failed.stdout
    assert run(repo, "git", "status", "--porcelain", "metrics").stdout == ""


@pytest.mark.slow  # dvc repro in a real repo
def test_restores_from_the_run_cache_when_the_good_run_was_never_committed(
        tmp_path: Path, tiny_dataset: Path) -> None:
    repo = make_pipeline_repo(tmp_path / "repo", tiny_dataset)
    dvc(repo, "repro", "validate")
    metrics = repo / "metrics" / "data_quality.json"
    good = metrics.read_bytes()  # not committed: only DVC's run-cache has it
    expert = repo / "data" / "raw" / "ExpertAnnotations.tsv"
    expert.write_text(expert.read_text().replace("\t", ","))

    assert dvc(repo, "repro", "-s", "validate", check=False).returncode != 0
    assert metrics.read_bytes() == good


def test_folder_outputs_come_back_whole_from_git_when_the_cache_lacks_them(tmp_path: Path, monkeypatch) -> None:
    from imagesearch.last_good import restore_missing

    repo = tmp_path / "repo"
    (repo / "metrics" / "curve" / "train").mkdir(parents=True)
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    outs:\n"
                                   "      - metrics/curve:\n          cache: false\n    metrics:\n"
                                   "      - metrics/cv.json:\n          cache: false\n")
    (repo / "metrics" / "curve" / "train" / "rmse.tsv").write_text("step\trmse\n0\t0.2\n")
    (repo / "metrics" / "cv.json").write_text('{"mrr": 0.5}\n')
    run(repo, "git", "init", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "good run")
    monkeypatch.chdir(repo)
    for path in ("metrics/curve/train/rmse.tsv", "metrics/cv.json"):
        (repo / path).unlink()
    (repo / "metrics" / "curve" / "train").rmdir()
    (repo / "metrics" / "curve").rmdir()

    assert sorted(restore_missing("train")) == ["metrics/curve", "metrics/cv.json"]
    assert (repo / "metrics" / "curve" / "train" / "rmse.tsv").read_text() == "step\trmse\n0\t0.2\n"
    assert (repo / "metrics" / "cv.json").read_text() == '{"mrr": 0.5}\n'
