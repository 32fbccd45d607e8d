"""`imagesearch search|score` run as a user runs them: a subprocess, on the tiny real index."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imagesearch.legal.rules import DISCLAIMER
from imagesearch.legal.visual import VisualClassifier
from imagesearch.serving.searcher import MAX_QUERY_CHARS
from tests.serve_lock import modules_outside_serve_lock

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def imagesearch(*args: str | os.PathLike) -> subprocess.CompletedProcess:
    """Run the CLI: the installed ``imagesearch`` script if there is one, else ``python -m``."""
    script = shutil.which("imagesearch")
    command = [script] if script else [sys.executable, "-m", "imagesearch.serving.cli"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)


# ------------------------------------------------------------------ search
def test_search_prints_rank_score_and_path(search_index):
    run = imagesearch("search", "a red circle", "-k", "3", "--index", search_index.folder)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 3
    for rank, line in enumerate(lines, start=1):
        number, score, path = line.split(maxsplit=2)
        assert int(number) == rank
        assert 0.0 <= float(score) <= 1.0
        assert Path(path).name in search_index.allowed_images and Path(path).is_file()


def test_search_json(search_index):
    run = imagesearch("search", "two dogs play in the snow", "-k", "2", "--json", "--index", search_index.folder)
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    assert body["disclaimer"] is None and len(body["results"]) == 2
    assert {h["image"] for h in body["results"]} <= set(search_index.allowed_images)


def test_search_blocked_query_prints_the_disclaimer(search_index):
    run = imagesearch("search", "a little girl playing", "--index", search_index.folder)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == DISCLAIMER


def test_search_under_notice_prints_the_notice_beside_the_results(search_index, notice_index):
    """legal.uncovered_language: notice: a Dutch query is served; the notice naming the checked
    languages goes to stderr (stdout keeps one line per hit) and into --json; refuse (the
    default index) keeps refusing it with the message."""
    from imagesearch.legal.policy import UNCOVERED_MESSAGE, UNCOVERED_NOTICE

    query = "Een man fietst in het park"
    run = imagesearch("search", query, "-k", "2", "--index", notice_index)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip().splitlines()) == 2 and f"notice: {UNCOVERED_NOTICE}" in run.stderr.splitlines()
    run = imagesearch("search", query, "-k", "2", "--json", "--index", notice_index)
    body = json.loads(run.stdout)
    assert body["notice"] == UNCOVERED_NOTICE and len(body["results"]) == 2 and body["disclaimer"] is None
    plain = imagesearch("search", "two dogs play in the snow", "-k", "2", "--index", notice_index)
    assert "notice" not in plain.stderr
    refused = imagesearch("search", query, "--index", search_index.folder)
    assert refused.stdout.strip() == UNCOVERED_MESSAGE and "notice" not in refused.stderr


@pytest.mark.parametrize("args, message", [
    (["x" * (MAX_QUERY_CHARS + 1)], "longer than"),
    (["dogs", "-k", "0"], "k must be"),
    (["   "], "empty"),
])
def test_search_bad_input_exits_2(search_index, args, message):
    run = imagesearch("search", *args, "--index", search_index.folder)
    assert run.returncode == 2
    assert message in run.stderr and run.stdout == ""


def test_search_without_an_index_exits_2(tmp_path):
    run = imagesearch("search", "dogs", "--index", tmp_path / "nowhere")
    assert run.returncode == 2
    assert "nowhere" in run.stderr and "dvc repro" in run.stderr


def test_search_on_an_index_of_the_pickled_format_exits_2_naming_the_rebuild(search_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(search_index.folder, index)
    (index / "image_side.npz").rename(index / "image_side.joblib")  # what indexes held before
    run = imagesearch("search", "a red circle", "--index", index)
    assert run.returncode == 2
    assert "image_side.npz" in run.stderr and "dvc repro index" in run.stderr and "Traceback" not in run.stderr


# ------------------------------------------------------------------ score
def test_score_prints_a_number_in_unit_interval(search_index):
    image = search_index.image_file(search_index.allowed_images[0])
    run = imagesearch("score", "--image", image, "--text", "a red circle", "--index", search_index.folder)
    assert run.returncode == 0, run.stderr
    assert 0.0 <= float(run.stdout.strip()) <= 1.0


def test_score_blocked_text_prints_the_disclaimer(search_index):
    image = search_index.image_file(search_index.allowed_images[0])
    run = imagesearch("score", "--image", image, "--text", "a boy with a ball", "--index", search_index.folder)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == DISCLAIMER


def _index_with_threshold(search_index, tmp_path, threshold: float) -> Path:
    """A copy of the index whose visual classifier flags every image (0) or none (> 1)."""
    index = tmp_path / "index"
    shutil.copytree(search_index.folder, index)
    classifier = VisualClassifier.load(index / "visual_classifier.joblib")
    VisualClassifier(classifier.model, threshold, classifier.dim).save(index / "visual_classifier.joblib")
    return index


def test_score_new_image_flagged_by_the_visual_classifier_prints_the_disclaimer(search_index, tmp_path):
    # a photo the pipeline never saw goes to the classifier, here one that flags every image
    index = _index_with_threshold(search_index, tmp_path, 0.0)
    new = tmp_path / "upload.png"
    Image.open(search_index.image_file(search_index.allowed_images[0])).rotate(90).save(new)
    run = imagesearch("score", "--image", new, "--text", "a red circle", "--index", index)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == DISCLAIMER
    # a catalog photo the pipeline allowed is judged by its verdict, not by the classifier
    allowed = search_index.image_file(search_index.allowed_images[0])
    run = imagesearch("score", "--image", allowed, "--text", "a red circle", "--index", index)
    assert 0.0 <= float(run.stdout.strip()) <= 1.0


def test_score_refuses_a_blocked_photo_under_any_name(search_index, tmp_path):
    # a classifier that never fires: the photo is refused by its content hash alone
    index = _index_with_threshold(search_index, tmp_path, 1.01)
    renamed = tmp_path / "holiday.jpg"
    shutil.copyfile(search_index.image_file(search_index.blocked_images[0]), renamed)
    run = imagesearch("score", "--image", renamed, "--text", "people outside", "--index", index)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == DISCLAIMER


@pytest.mark.parametrize("content", [b"", b"this is not a picture", b"\xff\xd8\xff\xe0truncated jpeg"])
def test_score_bad_image_file_exits_2_naming_the_file(search_index, tmp_path, content):
    bad = tmp_path / "holiday photo.jpg"
    bad.write_bytes(content)
    run = imagesearch("score", "--image", bad, "--text", "a red circle", "--index", search_index.folder)
    assert run.returncode == 2
    assert str(bad) in run.stderr and "Traceback" not in run.stderr


def test_score_missing_image_exits_2(search_index, tmp_path):
    missing = tmp_path / "nope.jpg"
    run = imagesearch("score", "--image", missing, "--text", "a red circle", "--index", search_index.folder)
    assert run.returncode == 2
    assert str(missing) in run.stderr


def test_score_empty_text_exits_2(search_index):
    image = search_index.image_file(search_index.allowed_images[0])
    run = imagesearch("score", "--image", image, "--text", " ", "--index", search_index.folder)
    assert run.returncode == 2 and "empty" in run.stderr


# ------------------------------------------------------------------ serve-only install
WITHOUT_TORCH_AND_TF = """
import importlib.abc, sys
ABSENT = {"torch", "torchvision", "tensorflow", "tensorflow_hub", "sentence_transformers", "transformers"}
class Absent(importlib.abc.MetaPathFinder):  # as in .venv-serve: these packages are not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
from imagesearch.serving.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_search_and_legal_check_need_neither_torch_nor_tensorflow(search_index, tmp_path):
    """What requirements-serve.txt promises: search and legal-check run without torch or TF."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", WITHOUT_TORCH_AND_TF]
    found = subprocess.run([*command, "search", "a red circle", "-k", "2", "--json", "--index",
                            str(search_index.folder)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert found.returncode == 0, found.stderr[-3000:]
    assert json.loads(found.stdout)["results"]
    checked = subprocess.run([*command, "legal-check", "--index", str(search_index.folder)],
                             input="a boy on a bike\nДевочки танцуют на сцене\na red circle\n",
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert [line.split("\t")[0] for line in checked.stdout.splitlines()] == ["blocked", "blocked", "allowed"]


ONLY_SERVE_LOCK = """
import sys
from tests.serve_lock import as_in_serve_install
as_in_serve_install()  # as in .venv-serve: any other import fails the command
if sys.argv[1] == "serve-query":  # the web app's path: load the index, answer one query
    from fastapi.testclient import TestClient
    from imagesearch.serving.web.app import create_app
    import time
    with TestClient(create_app(sys.argv[2])) as client:
        began = time.monotonic()  # the index loads in the background, warmed up in English and Russian
        while client.get("/readyz").status_code != 200 and time.monotonic() - began < 120:
            time.sleep(0.2)
        response = client.get("/api/search", params={"q": "a red circle", "k": 2})
        print(response.status_code, len(response.json()["results"]))
else:
    from imagesearch.serving.cli import main
    code = main(sys.argv[1:])
    if code:
        raise SystemExit(code)
"""


def test_search_serve_legal_check_and_score_of_a_catalog_photo_import_only_the_serve_locks_packages(search_index,
                                                                                                    tmp_path):
    """Every module of a distribution requirements-serve.txt leaves out (scikit-learn, scipy,
    XGBoost, pandas, joblib, torch, ...) is unimportable: the model scores with numpy (its trees,
    its space's arrays), the index's parquet files are read with pyarrow alone. A photo outside the
    catalog needs torch and the visual classifier's scikit-learn, and says so in one line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    assert {"sklearn", "scipy", "xgboost", "pandas", "joblib", "torch"} <= modules_outside_serve_lock()
    command = [sys.executable, "-c", ONLY_SERVE_LOCK]
    index = str(search_index.folder)
    photo = search_index.image_file(search_index.allowed_images[0])
    new = tmp_path / "upload.png"
    Image.open(photo).rotate(90).save(new)
    runs = {
        "search": subprocess.run([*command, "search", "a red circle", "-k", "2", "--json", "--index", index],
                                 capture_output=True, text=True, env=env, cwd=tmp_path),
        "legal-check": subprocess.run([*command, "legal-check", "--index", index],
                                      input="a boy on a bike\nДевочки танцуют\na red circle\n",
                                      capture_output=True, text=True, env=env, cwd=tmp_path),
        "serve": subprocess.run([*command, "serve-query", index], capture_output=True, text=True, env=env, cwd=tmp_path),
        "score": subprocess.run([*command, "score", "--image", str(photo), "--text", "a red circle", "--index", index],
                                capture_output=True, text=True, env=env, cwd=tmp_path),
    }
    for name, run in runs.items():
        assert run.returncode == 0, (name, run.stderr[-3000:])
    assert json.loads(runs["search"].stdout)["results"]
    assert [line.split("\t")[0] for line in runs["legal-check"].stdout.splitlines()] == ["blocked", "blocked",
                                                                                         "allowed"]
    assert runs["serve"].stdout.split() == ["200", "2"]
    assert 0.0 <= float(runs["score"].stdout) <= 1.0
    refused = subprocess.run([*command, "score", "--image", str(new), "--text", "a red circle", "--index", index],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f"error: {new}: not a photo of the catalog") and "'torch'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def test_json_paths_work_from_another_working_directory(search_index, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    found = subprocess.run([sys.executable, "-m", "imagesearch.serving.cli", "search", "a red circle", "-k", "2",
                            "--json", "--index", str(search_index.folder)],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    hits = json.loads(found.stdout)["results"]
    assert hits and all(Path(hit["path"]).is_absolute() and Path(hit["path"]).is_file() for hit in hits)


# ------------------------------------------------------------------ a fetched index
@pytest.fixture
def fetched_index(search_index, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the index outside any project, listing its photos by project-relative paths (as
    the pipeline writes them), and a folder holding the photos."""
    import pandas as pd

    index = tmp_path / "fetched" / "index"
    shutil.copytree(search_index.folder, index)
    catalog = pd.read_parquet(index / "catalog.parquet")
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in catalog["path"]:
        shutil.copy(path, photos / Path(path).name)
    catalog["path"] = [f"data/raw/test_images/{Path(p).name}" for p in catalog["path"]]
    catalog.to_parquet(index / "catalog.parquet", index=False)
    return index, photos


def test_a_fetched_index_says_where_photos_are_missing_and_finds_them_with_images(fetched_index):
    index, photos = fetched_index
    run = imagesearch("search", "a red circle", "-k", "2", "--json", "--index", index)
    assert run.returncode == 0, run.stderr
    assert [line for line in run.stderr.splitlines() if "--images DIR" in line], run.stderr
    assert all(hit["path"] is None for hit in json.loads(run.stdout)["results"])

    run = imagesearch("search", "a red circle", "-k", "2", "--json", "--index", index, "--images", photos)
    assert run.returncode == 0 and "--images DIR" not in run.stderr, run.stderr
    hits = json.loads(run.stdout)["results"]
    assert len(hits) == 2 and all(Path(hit["path"]).is_file() and Path(hit["path"]).parent == photos.resolve()
                                  for hit in hits)


@pytest.mark.parametrize("command", ["search", "serve"])
def test_a_missing_images_folder_is_one_line(fetched_index, command):
    index, photos = fetched_index
    args = ["a red circle"] if command == "search" else ["--port", "0"]
    run = imagesearch(command, *args, "--index", index, "--images", photos / "absent")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "no such folder" in run.stderr, run.stderr
