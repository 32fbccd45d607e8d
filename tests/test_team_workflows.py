"""Team workflows on DVC (#6), with real DVC commands in temporary git repositories.

One pipeline run is shared by the whole module: ``origin`` (a copy of the pipeline on the tiny
dataset, with this project's own ``.dvc/config``) runs ``dvc repro``, commits and pushes to the
default remote. Every other test starts where a teammate starts: ``git clone`` + ``dvc pull``.

- default remote: a folder beside the repository (``../imagesearch-dvc-remote``); a clone + pull
  restores raw data, features, models and metrics, and a repro after the pull runs nothing;
- an S3-protocol remote (moto's server on 127.0.0.1): push, cache wiped, pull restores;
- review: two commits that differ in one param; ``dvc params diff`` / ``metrics diff`` /
  ``plots diff`` between them;
- experiments: ``dvc exp run -S``, ``dvc exp show --json``, and a queued grid over text encoders.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline_repo import REPO, commit_all, digest, dvc, make_pipeline_repo, ran, run, set_param
from tests.s3_server import moto_s3

pytestmark = pytest.mark.slow

REMOTE_DIR = "imagesearch-dvc-remote"  # what .dvc/config's default remote names, beside the repo
PULLED = [  # what a teammate gets from `dvc pull`: raw data, clean tables, features, models, index
    "data/raw/train_dataset.csv", "data/raw/test_images", "data/clean/images.parquet",
    "data/labels/pairs.parquet", "data/legal/train_pairs.parquet", "data/features/images.npz",
    "data/features/texts.npz", "data/features/text_encoder", "data/model", "data/train/oof.parquet",
    "data/index",
]
IN_GIT = ["dvc.lock", "metrics/cv.json", "metrics/test.json", "metrics/plots/cv_roc.csv"]
# tfidf's default 256 LSA dims need more than the tiny dataset's 18 train captions; "+" adds the key
TFIDF_DIM = "+embed_texts.options={dim: 8}"
OUTS = ["data/raw", "data/clean", "data/labels", "data/legal", "data/features", "data/model",
        "data/train", "data/index"]


def clone(origin: Path, dest: Path) -> Path:
    """What a teammate does: git clone, then dvc pull from the default remote."""
    run(origin.parent, "git", "clone", "-q", str(origin), str(dest))
    dvc(dest, "pull")
    return dest


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> Path:
    """The pipeline with this project's .dvc/config, reproduced, committed and pushed."""
    team = tmp_path_factory.mktemp("team")
    repo = make_pipeline_repo(team / "origin", tiny_dataset)
    shutil.copy2(REPO / ".dvc" / "config", repo / ".dvc" / "config")
    commit_all(repo, "the project's default remote")
    dvc(repo, "repro")
    commit_all(repo, "pipeline results")
    dvc(repo, "push")
    return repo


def test_default_remote_is_a_folder_beside_the_repo(origin: Path) -> None:
    listed = dvc(origin, "remote", "list").stdout.split()
    default = dvc(origin, "remote", "default").stdout.strip()
    url = Path(listed[listed.index(default) + 1])
    assert url == origin.parent / REMOTE_DIR
    assert any((url / "files" / "md5").rglob("*")), "dvc push left the remote empty"
    assert dvc(origin, "status", "--cloud", "--json").stdout.strip() in ("", "{}")


def test_clone_and_pull_restores_everything_and_repro_runs_nothing(origin: Path) -> None:
    mate = clone(origin, origin.parent / "teammate")
    for path in PULLED + IN_GIT:
        assert (mate / path).exists(), path
        assert digest(mate / path) == digest(origin / path), path
    assert json.loads(dvc(mate, "status", "--json").stdout or "{}") == {}
    log = dvc(mate, "repro").stdout
    assert "Running stage" not in log, log


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("aws"), "imagesearch") as endpoint:
        yield endpoint


def test_s3_remote_push_then_pull_into_an_empty_cache(origin: Path, s3_endpoint: str) -> None:
    s3 = pytest.importorskip("boto3").client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    mate = clone(origin, origin.parent / "s3-user")
    dvc(mate, "remote", "add", "-d", "s3", "s3://imagesearch/store")
    dvc(mate, "remote", "modify", "s3", "endpointurl", s3_endpoint)
    assert dvc(mate, "remote", "default").stdout.strip() == "s3"
    dvc(mate, "push")
    stored = s3.list_objects_v2(Bucket="imagesearch", Prefix="store/")
    cached = [p for p in (mate / ".dvc" / "cache" / "files").rglob("*") if p.is_file()]
    assert stored["KeyCount"] == len(cached) > 0

    shutil.rmtree(mate / ".dvc" / "cache")
    for out in OUTS:
        shutil.rmtree(mate / out, ignore_errors=True)
    dvc(mate, "pull", "-r", "s3")
    for path in PULLED:
        assert digest(mate / path) == digest(origin / path), path
    assert json.loads(dvc(mate, "status", "--json").stdout or "{}") == {}


@pytest.fixture(scope="module")
def reviewed(origin: Path) -> Path:
    """A clone with one more commit: train.xgb.max_depth 4 -> 2, pipeline rerun and committed."""
    repo = clone(origin, origin.parent / "reviewer")
    set_param(repo, ("train", "xgb", "max_depth"), 2)
    log = dvc(repo, "repro").stdout
    assert ran(log) <= {"train", "evaluate", "index"} and "train" in ran(log), log
    commit_all(repo, "train.xgb.max_depth: 2")
    return repo


def test_params_diff_between_commits_names_the_one_changed_param(reviewed: Path) -> None:
    diff = json.loads(dvc(reviewed, "params", "diff", "HEAD~1", "HEAD", "--json").stdout)
    assert diff == {"params.yaml": {"train.xgb.max_depth": {"old": 4, "new": 2, "diff": -2}}}


def test_metrics_diff_between_commits_shows_changed_metrics(reviewed: Path) -> None:
    diff = json.loads(dvc(reviewed, "metrics", "diff", "HEAD~1", "HEAD", "--json").stdout)
    cv = diff["metrics/cv.json"]
    changed = {k: v for k, v in cv.items() if v.get("diff")}
    assert changed, cv
    assert all(v["old"] is not None and v["new"] is not None for v in changed.values())
    # an unchanged upstream stage shows no difference
    assert not any(v.get("diff") for v in diff.get("metrics/data_quality.json", {}).values())


def test_plots_diff_between_commits_writes_html(reviewed: Path, tmp_path: Path) -> None:
    out = tmp_path / "plots"
    dvc(reviewed, "plots", "diff", "HEAD~1", "HEAD", "-o", str(out))
    html = (out / "index.html").read_text()
    for title in ("ROC out of fold", "Test recall@k", "Training curve of the final model"):
        assert title in html, title
    assert "cdn.jsdelivr" not in html and "vegaEmbed" in html  # the project's page: vega inline


def test_review_report_between_commits(reviewed: Path) -> None:
    result = run(reviewed, sys.executable, "-m", "imagesearch.review", "--base", "HEAD~1", "--rev", "HEAD",
                 "--out", "review.md")
    report = (reviewed / "review.md").read_text()
    assert result.stdout.strip() == report.strip()
    assert report.startswith("# Review: HEAD against HEAD~1")
    assert "train.xgb.max_depth" in report and "| 4 " in report and "| 2 " in report
    assert "metrics/cv.json" in report and "Change" in report
    verdict = next(line for line in report.splitlines() if line.startswith("**Verdict:**"))
    # the tiny repo has no metrics/noise.json: a change is named, its noise said to be unmeasured
    assert verdict.startswith("**Verdict:** CV noise not measured (") and "CV MRR" in verdict, verdict
    assert (reviewed / "review_plots" / "index.html").is_file()
    if shutil.which("chromium"):
        png = reviewed / "review_plots" / "plots.png"
        assert png.stat().st_size > 20_000 and "review_plots/plots.png" in report


def test_review_report_of_an_unchanged_tree_moves_nothing(reviewed: Path) -> None:
    report = run(reviewed, sys.executable, "-m", "imagesearch.review", "--base", "HEAD",
                 "--out", "same.md", "--no-images").stdout
    assert "No params changed." in report and "No metrics changed." in report
    assert "**Verdict:** CV unchanged, test unchanged." in report


def experiments(repo: Path) -> dict[str, dict]:
    """``dvc exp show --json`` as {experiment name: its data (params, metrics)}."""
    found: dict[str, dict] = {}
    for baseline in json.loads(dvc(repo, "exp", "show", "--json").stdout):
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                if rev.get("name"):
                    found[rev["name"]] = rev.get("data") or {}
    return found


def metric(data: dict, file: str, key: str) -> object:
    return data["metrics"][file]["data"][key]


def param(data: dict, dotted: str) -> object:
    node = data["params"]["params.yaml"]["data"]
    for key in dotted.split("."):
        node = node[key]
    return node


@pytest.fixture(scope="module")
def lab(origin: Path) -> Path:
    return clone(origin, origin.parent / "lab")


def reset_workspace(repo: Path) -> None:
    """Back to the last commit after a workspace experiment: git files, then DVC outputs."""
    run(repo, "git", "checkout", "--", ".")
    dvc(repo, "checkout", "--force")


def test_exp_run_with_set_param(lab: Path) -> None:
    log = dvc(lab, "exp", "run", "-n", "depth3", "-S", "train.xgb.max_depth=3").stdout
    assert "train" in ran(log) and ran(log) <= {"train", "evaluate", "index"}, log
    reset_workspace(lab)
    data = experiments(lab)["depth3"]
    assert param(data, "train.xgb.max_depth") == 3
    assert isinstance(metric(data, "metrics/cv.json", "cv_mrr"), float)


def test_exp_run_text_encoder_does_not_reembed_images(lab: Path) -> None:
    log = dvc(lab, "exp", "run", "-n", "tfidf", "-S", "embed_texts.encoder=tfidf", "-S", TFIDF_DIM).stdout
    assert ran(log) == {"embed_texts", "align_queries", "train", "evaluate", "index"}, log
    reset_workspace(lab)
    data = experiments(lab)["tfidf"]
    assert param(data, "embed_texts.encoder") == "tfidf"
    assert "test_r1" in data["metrics"]["metrics/test.json"]["data"]


def test_queued_grid_over_text_encoders(lab: Path) -> None:
    for encoder, extra in (("minilm", []), ("tfidf", ["-S", TFIDF_DIM])):
        dvc(lab, "exp", "run", "--queue", "-n", f"grid-{encoder}", "-S", f"embed_texts.encoder={encoder}",
            *extra)
    dvc(lab, "queue", "start", "-j", "1")
    deadline = time.monotonic() + 420
    while True:
        status = dvc(lab, "queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        assert time.monotonic() < deadline, status
        time.sleep(3)
    assert "Failed" not in status, status + dvc(lab, "queue", "logs", "grid-tfidf", check=False).stdout
    found = experiments(lab)
    for encoder in ("minilm", "tfidf"):
        data = found[f"grid-{encoder}"]
        assert param(data, "embed_texts.encoder") == encoder
        assert isinstance(metric(data, "metrics/test.json", "test_mrr"), float)
    logs = dvc(lab, "queue", "logs", "grid-tfidf").stdout
    assert "Running stage 'embed_images'" not in logs, logs
