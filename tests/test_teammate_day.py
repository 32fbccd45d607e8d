"""A teammate's first day, end to end, against a real S3-protocol server (moto) on 127.0.0.1.

Machine A points the project at the team remote with ``make remote``, reproduces, commits and
``make push``es (data and run-cache). Machine B clones and runs ``make pipeline``: everything is
restored from the remote, nothing recomputed, ``dvc status`` and ``git status`` clean, search
works. A param value someone already ran comes back from the run-cache. A team that wants only
the search index gets it with ``dvc get`` / ``dvc artifacts get``, without the photos. And where
the remote has nothing (a fresh clone of the project's own config), ``make pipeline`` computes.
"""
from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline_repo import REPO, commit_all, digest, dvc, make_pipeline_repo, ran, run, set_param
from tests.s3_server import moto_s3

pytestmark = pytest.mark.slow

BUCKET = "imagesearch-team"


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def make(repo: Path, *targets: str) -> str:
    """The project's Makefile targets, with the venv taken as built (the test's own runs them)."""
    return run(repo, "make", "-s", "-o", "venv", "-o", ".venv/.installed",
               f"PY={sys.executable}", *targets).stdout


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("aws"), BUCKET) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def machine_a(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path, s3_endpoint: str) -> Path:
    repo = make_pipeline_repo(tmp_path_factory.mktemp("a") / "repo", tiny_dataset)
    shutil.copy2(REPO / "Makefile", repo / "Makefile")
    make(repo, "remote", f"URL=s3://{BUCKET}/store", f"ENDPOINT={s3_endpoint}")
    commit_all(repo, "the team remote")
    dvc(repo, "repro")
    commit_all(repo, "pipeline results")
    make(repo, "push")
    # a param value tried on A and not kept: its run reaches the remote through the run-cache
    set_param(repo, ("embed_texts", "batch_size"), 7)
    dvc(repo, "repro")
    make(repo, "push")
    run(repo, "git", "checkout", "HEAD", "--", "params.yaml", "dvc.lock", "metrics")  # autostage staged them
    dvc(repo, "checkout")
    run(repo, "git", "tag", "-a", "search-index@v0.1.0", "-m", "the index teams serve")
    return repo


def test_make_remote_writes_the_team_remote_into_the_committed_config(machine_a: Path, s3_endpoint: str) -> None:
    config = (machine_a / ".dvc" / "config").read_text()
    assert f"url = s3://{BUCKET}/store" in config and f"endpointurl = {s3_endpoint}" in config
    assert dvc(machine_a, "remote", "default").stdout.strip() == "team"


def test_teammate_clone_then_make_pipeline_restores_everything_and_computes_nothing(
        machine_a: Path, tmp_path: Path) -> None:
    mate = tmp_path / "b"
    run(machine_a, "git", "clone", "-q", str(machine_a), str(mate))
    log = make(mate, "pipeline")
    assert ran(log) == set(), log
    for path in ("data/raw/test_images", "data/features/texts.npz", "data/model", "data/index"):
        assert digest(mate / path) == digest(machine_a / path), path
    assert json.loads(dvc(mate, "status", "--json").stdout or "{}") == {}
    assert run(mate, "git", "status", "--porcelain", "data/translations").stdout == ""
    assert ran(dvc(mate, "repro").stdout) == set()
    hits = json.loads(run(mate, sys.executable, "-m", "imagesearch.serving.cli", "search", "a dog runs",
                          "-k", "3", "--json").stdout)
    assert hits["results"] and all(0 <= hit["score"] <= 1 for hit in hits["results"])

    # a param value A already ran: restored from the run-cache, not recomputed. (Only for stages
    # whose outputs are all DVC-cached: `dvc push --run-cache` does not upload `cache: false`
    # files, so train and evaluate, with their metrics in git, are recomputed here;
    # docs/team.md, "A teammate's first day".)
    set_param(mate, ("embed_texts", "batch_size"), 7)
    log = make(mate, "pipeline")
    assert ran(log) == set() and "Stage 'embed_texts' is cached - skipping run" in log, log


def test_a_team_gets_just_the_index_at_a_revision(machine_a: Path, tmp_path: Path) -> None:
    bare = tmp_path / "project.git"  # like a git server: no DVC cache beside it
    run(machine_a, "git", "clone", "-q", "--bare", str(machine_a), str(bare))
    rev = run(machine_a, "git", "rev-parse", "HEAD").stdout.strip()
    dvc(tmp_path, "get", str(bare), "data/index", "--rev", rev, "-o", str(tmp_path / "by-path"))
    dvc(tmp_path, "artifacts", "get", str(bare), "search-index", "--rev", "v0.1.0",
        "-o", str(tmp_path / "by-artifact"))
    for got in ("by-path", "by-artifact"):
        assert files(tmp_path / got) == files(machine_a / "data" / "index"), got
    assert not any(p.suffix == ".jpg" for p in tmp_path.rglob("*"))  # no photos came with it


def test_fresh_clone_with_an_unreachable_remote_computes_everything(
        tmp_path: Path, tiny_dataset: Path) -> None:
    origin = make_pipeline_repo(tmp_path / "origin", tiny_dataset)
    shutil.copy2(REPO / ".dvc" / "config", origin / ".dvc" / "config")  # the folder beside: absent
    shutil.copy2(REPO / "Makefile", origin / "Makefile")
    commit_all(origin, "the project's own remote config")
    mate = tmp_path / "fresh"
    run(origin, "git", "clone", "-q", str(origin), str(mate))
    log = make(mate, "pipeline")
    assert {"validate", "align_queries", "train", "evaluate", "index"} <= ran(log), log
    assert (mate / "data" / "index").is_dir()
