"""Where the raw dataset comes from: the frozen list, no silent fallback, the freeze command."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from imagesearch.data.fetch import (DatasetError, DatasetMismatch, candidate_sources, fetch_dataset,
                                    freeze_checksums, main)
from tests.tinydata import write_checksums

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def dataset(tiny_dataset: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "dataset"
    shutil.copytree(tiny_dataset, copy)
    return copy


def test_freeze_writes_the_list_the_stage_checks_against(dataset: Path, tmp_path: Path) -> None:
    write_checksums(dataset, tmp_path / "reference.sha256")
    (dataset / "README.md").write_text("notes")
    assert main(["freeze", str(dataset), "--out", str(tmp_path / "frozen.sha256"), "--exclude", "README.md"]) == 0
    frozen = (tmp_path / "frozen.sha256").read_text().splitlines()
    assert frozen == sorted(frozen, key=lambda line: line.split("  ", 1)[1])  # sha256sum's order
    assert sorted(frozen) == sorted((tmp_path / "reference.sha256").read_text().splitlines())
    assert fetch_dataset(tmp_path / "raw", str(dataset), "", tmp_path / "frozen.sha256") == str(dataset)
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(
        p.name for p in dataset.iterdir() if p.name != "README.md")


def test_freeze_leaves_out_the_datasets_own_checksum_listing(dataset: Path, tmp_path: Path) -> None:
    write_checksums(dataset, tmp_path / "reference.sha256")
    write_checksums(dataset, dataset / "SHA256SUMS")  # as the shared copy ships one
    (dataset / "md5.md5").write_text("d41d8cd98f00b204e9800998ecf8427e  ./x\n")
    assert main(["freeze", str(dataset), "--out", str(dataset / "frozen.sha256")]) == 0
    frozen = (dataset / "frozen.sha256").read_text().splitlines()
    assert sorted(frozen) == sorted((tmp_path / "reference.sha256").read_text().splitlines())


@pytest.mark.realdata
def test_freezing_the_real_dataset_reproduces_the_committed_list(real_dataset: Path, tmp_path: Path) -> None:
    """docs/pipeline.md's command on the shared copy (which ships README.md and SHA256SUMS)."""
    assert main(["freeze", str(real_dataset), "--out", str(tmp_path / "frozen.sha256"), "--exclude", "README.md"]) == 0
    assert (tmp_path / "frozen.sha256").read_bytes() == (REPO / "data" / "dataset.sha256").read_bytes()


def test_a_changed_file_fails_with_one_line_naming_it_and_no_fallback(dataset: Path, tmp_path: Path,
                                                                      tiny_dataset: Path) -> None:
    freeze_checksums(dataset, tmp_path / "frozen.sha256")
    with open(dataset / "train_dataset.csv", "a") as handle:
        handle.write("extra,row,here\n")
    (dataset / "test_queries.csv").unlink()
    with pytest.raises(DatasetMismatch) as caught:
        fetch_dataset(tmp_path / "raw", str(dataset), "", tmp_path / "frozen.sha256")
    message = str(caught.value)
    assert "\n" not in message
    assert "1 files differ from data/dataset.sha256 (train_dataset.csv)" in message
    assert "1 missing (test_queries.csv)" in message and "freeze" in message
    assert not (tmp_path / "raw").exists()  # nothing half-written


def test_auto_does_not_fall_back_past_a_route_whose_files_differ(dataset: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The first existing route differs: the stage fails; it does not take the next (intact) one."""
    import imagesearch.data.fetch as fetch

    freeze_checksums(dataset, tmp_path / "frozen.sha256")
    archive = tmp_path / "dataset.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(p for p in dataset.rglob("*") if p.is_file()):
            bundle.write(path, f"to_upload/{path.relative_to(dataset).as_posix()}")
    (dataset / "train_dataset.csv").write_text("changed\n")
    monkeypatch.setattr(fetch, "SHARED_COPY", dataset)
    monkeypatch.setattr(fetch, "LOCAL_ZIP", archive)
    assert candidate_sources("auto", "https://example.invalid/x.zip")[:2] == [str(dataset), str(archive)]
    with pytest.raises(DatasetMismatch, match="train_dataset.csv"):
        fetch_dataset(tmp_path / "raw", "auto", "https://example.invalid/x.zip", tmp_path / "frozen.sha256")
    # an absent route (here: an empty folder) does let auto try the next one
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(fetch, "SHARED_COPY", empty)
    assert fetch_dataset(tmp_path / "raw", "auto", "https://example.invalid/x.zip",
                         tmp_path / "frozen.sha256") == str(archive)


def test_the_retired_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGESEARCH_DATASET", "/my/data")
    with pytest.raises(DatasetError, match=r"DVC cannot see environment variables.*-S data.source=/my/data"):
        candidate_sources("auto", "")


def test_the_stage_exits_1_with_one_error_line_and_no_traceback(dataset: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    freeze_checksums(dataset, project / "data" / "dataset.sha256")
    (dataset / "train_dataset.csv").write_text("changed\n")
    params = (REPO / "params.yaml").read_text().replace("source: auto", f"source: {dataset}")
    (project / "params.yaml").write_text(params)
    result = subprocess.run([sys.executable, str(REPO / "stages" / "fetch_data.py")], cwd=project,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "train_dataset.csv" in result.stderr and "dvc checkout fetch_data" in result.stderr
