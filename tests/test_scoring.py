"""`ImageScorer` on the tiny real index: catalog photos scored from the index, new photos embedded."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imagesearch.serving.scoring import ImageScorer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TEXTS = ("a red circle", "a blue square on white", "two green shapes")


@pytest.fixture(scope="module")
def scorer(search_index) -> ImageScorer:
    return ImageScorer.load(search_index.folder)


def test_a_catalog_photo_scores_what_search_gives_it_under_any_name(search_index, searcher, scorer, tmp_path):
    for text in TEXTS:
        found = {hit.image: hit.score for hit in searcher.search(text, len(searcher)).hits}
        for image in search_index.allowed_images:
            renamed = tmp_path / f"upload-{image}"
            shutil.copyfile(search_index.image_file(image), renamed)
            assert scorer.score(search_index.image_file(image), text).score == found[image]
            assert scorer.score(renamed, text).score == found[image]


def test_a_new_photo_is_embedded_and_scored_as_the_index_model_scores_its_pixels(search_index, searcher, scorer,
                                                                               tmp_path):
    # other bytes (PNG), the same pixels: embedded on the spot in float64, like the pipeline did
    image = search_index.allowed_images[0]
    new = tmp_path / "upload.png"
    Image.open(search_index.image_file(image)).save(new)
    for text in TEXTS:
        found = {hit.image: hit.score for hit in searcher.search(text, len(searcher)).hits}
        assert scorer.score(new, text).score == pytest.approx(found[image], abs=1e-6)


WITHOUT = """
import importlib.abc, sys
ABSENT = set(sys.argv[1].split(","))
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
from imagesearch.serving.scoring import ImageScorer
result = ImageScorer.load(sys.argv[2]).score(sys.argv[3], sys.argv[4])
print(result.blocked_by or result.score)
"""

THREADS = """
import sys
from imagesearch.serving.scoring import ImageScorer
print(ImageScorer.load(sys.argv[1]).score(sys.argv[2], "a red circle").score)
import torch
print(torch.get_num_threads(), torch.get_num_interop_threads())
"""


def _python(script: str, *args: str | os.PathLike) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def test_a_catalog_photo_needs_no_image_model(search_index, tmp_path):
    catalog_photo = search_index.image_file(search_index.allowed_images[0])
    run = _python(WITHOUT, "torch", search_index.folder, catalog_photo, "a red circle")
    assert run.returncode == 0, run.stderr[-3000:]
    assert 0.0 <= float(run.stdout) <= 1.0
    new = tmp_path / "upload.png"
    Image.open(catalog_photo).rotate(90).save(new)
    assert _python(WITHOUT, "torch", search_index.folder, new, "a red circle").returncode != 0  # a new one does


def test_refusals_need_neither_the_model_nor_the_classifier(search_index, tmp_path):
    renamed = tmp_path / "holiday.jpg"
    shutil.copyfile(search_index.image_file(search_index.blocked_images[0]), renamed)
    allowed = search_index.image_file(search_index.allowed_images[0])
    for photo, text, refused in [(renamed, "a red circle", "image"), (allowed, "a boy with a ball", "text")]:
        run = _python(WITHOUT, "torch,xgboost,sklearn", search_index.folder, photo, text)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.strip() == refused


def test_a_new_photo_is_embedded_on_one_torch_thread(search_index, tmp_path):
    new = tmp_path / "upload.png"
    Image.open(search_index.image_file(search_index.allowed_images[0])).rotate(90).save(new)
    run = _python(THREADS, search_index.folder, new)
    assert run.returncode == 0, run.stderr[-3000:]
    score, threads = run.stdout.splitlines()
    assert 0.0 <= float(score) <= 1.0
    assert threads == "1 1"
