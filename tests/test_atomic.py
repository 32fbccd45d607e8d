"""Atomic outputs (imagesearch.atomic): an output appears whole or not at all, even when the
process writing it is killed; and a DVC pipeline killed midway leaves nothing DVC would accept."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from imagesearch.atomic import atomic_path, temporaries, write_csv, write_json, write_parquet

REPO = Path(__file__).resolve().parents[1]


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# ------------------------------------------------------------------ in process
def test_writers_produce_the_target_and_nothing_else(tmp_path):
    write_json(tmp_path / "m.json", {"a": 1})
    write_parquet(tmp_path / "t.parquet", pd.DataFrame({"x": [1, 2]}))
    write_csv(tmp_path / "t.csv", pd.DataFrame({"x": [1, 2]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "t.csv", "t.parquet"]
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"version": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"version": 2, "half')
            raise RuntimeError("crash midway")
    assert json.loads(target.read_text()) == {"version": 1}
    assert siblings(target) == ["out.json"]


def test_a_folder_is_replaced_whole(tmp_path):
    target = tmp_path / "model"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "old.txt").write_text("old")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert siblings(target) == ["model"]


def test_nothing_written_is_an_error_and_keeps_the_target(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(target):
            pass
    assert json.loads(target.read_text()) == {"v": 1}


# ------------------------------------------------------------------ killed writers
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from imagesearch.atomic import atomic_path
    target = Path(sys.argv[1])
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "part-0").write_text("half of an output")
        print("WRITING", flush=True)
        time.sleep(60)
        (tmp / "part-1").write_text("the rest")
""")


def start_writer(target: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert process.stdout.readline().strip() == "WRITING"
    return process


@pytest.mark.parametrize("old", [False, True], ids=["no previous output", "previous output"])
def test_sigterm_midway_removes_the_temporary(tmp_path, old):
    target = tmp_path / "out"
    if old:
        target.mkdir()
        (target / "complete").write_text("previous run")
    process = start_writer(target)
    assert len(temporaries(target)) == 1
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 128 + signal.SIGTERM
    assert temporaries(target) == []
    assert target.exists() == old
    if old:
        assert sorted(p.name for p in target.iterdir()) == ["complete"]


def test_sigkill_midway_leaves_only_a_temporary_that_the_next_write_removes(tmp_path):
    target = tmp_path / "out"
    process = start_writer(target)
    process.kill()
    process.wait(timeout=20)
    assert not target.exists()
    left = temporaries(target)
    assert len(left) == 1 and left[0].name.startswith(".out.") and left[0].name.endswith(".tmp")
    with atomic_path(target) as tmp:  # the next run
        tmp.mkdir()
        (tmp / "complete").write_text("done")
    assert temporaries(target) == [] and siblings(target) == ["out"]


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    target = tmp_path / "out"
    process = start_writer(target)
    try:
        write_json(target, {"other": "writer"})
        assert len(temporaries(target)) == 1  # still the running process's
    finally:
        process.kill()
        process.wait()


def test_sigterm_handling_is_restored_and_threads_are_left_alone(tmp_path):
    with atomic_path(tmp_path / "a") as tmp:
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        tmp.write_text("x")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    errors = []

    def in_thread():
        try:
            write_json(tmp_path / "b.json", {"b": 1})
        except Exception as err:  # pragma: no cover - would fail the assertion below
            errors.append(err)
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert not errors and (tmp_path / "b.json").exists()


# ------------------------------------------------------------------ a DVC pipeline killed midway
def stage_process(root: psutil.Process, script: str) -> psutil.Process | None:
    for child in root.children(recursive=True):
        try:
            if any(part.endswith(script) for part in child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def repro_until(repo: Path, script: str, delay: float) -> tuple[subprocess.Popen, psutil.Process]:
    """Start `dvc repro` and return once ``stages/<script>`` has been running for ``delay`` s."""
    from tests.pipeline_repo import environment

    process = subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=repo, env=environment(repo),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 400
    root = psutil.Process(process.pid)
    while time.monotonic() < deadline:
        stage = stage_process(root, script)
        if stage is not None:
            time.sleep(delay)
            if stage.is_running():
                return process, stage
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"{script} never ran:\n{process.communicate()[0][-3000:]}")


def leftover_temporaries(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in (repo / "data").rglob("*.tmp"))


def changed_stages(repo: Path) -> set[str]:
    from tests.pipeline_repo import dvc

    return set(json.loads(dvc(repo, "status", "--json").stdout))


@pytest.mark.slow
def test_dvc_repro_killed_midway_leaves_nothing_dvc_accepts(tmp_path, tiny_dataset):
    """SIGTERM to the whole `dvc repro` during embed_images, then SIGKILL to the train stage alone
    (as an OOM kill would): each time the killed stage and everything after it stay "changed", no
    temporary is taken for an output, and the next `dvc repro` completes normally."""
    from tests.pipeline_repo import dvc, make_pipeline_repo

    repo = make_pipeline_repo(tmp_path / "repo", tiny_dataset)

    # 1. SIGTERM to dvc and the stage (the process group), as a cancelled CI job does
    process, stage = repro_until(repo, "stages/embed_images.py", delay=1.5)
    os.killpg(process.pid, signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode != 0, output[-2000:]
    assert leftover_temporaries(repo) == [], "SIGTERM must clean up temporary outputs"
    changed = changed_stages(repo)
    assert {"embed_images", "legal", "train", "evaluate", "index"} <= changed, changed
    assert "validate" not in changed and "labels" not in changed  # finished before the kill
    assert not (repo / "data" / "features" / "images.npz").exists()

    # 2. SIGKILL to the train stage only: dvc sees its stage fail
    process, stage = repro_until(repo, "stages/train.py", delay=2.0)
    stage.kill()
    output = process.communicate(timeout=300)[0]
    assert process.returncode != 0, output[-2000:]
    assert "train" in output
    changed = changed_stages(repo)
    assert {"train", "evaluate", "index"} <= changed, changed
    assert "embed_images" not in changed and "embed_texts" not in changed
    for temporary in leftover_temporaries(repo):  # whatever SIGKILL left is not an output name
        assert Path(temporary).name.startswith(".") and temporary.endswith(".tmp")

    # 3. the next run completes the killed stages and what follows them up to the search index,
    #    leaving them up to date and no temporaries (evaluate is left out: it reruns the model's
    #    fit and is checked by test_pipeline.py; here it would only add minutes)
    dvc(repo, "repro", "index")
    assert changed_stages(repo) <= {"evaluate"}
    assert leftover_temporaries(repo) == []
    assert (repo / "data" / "index").is_dir() and (repo / "data" / "model").is_dir()
