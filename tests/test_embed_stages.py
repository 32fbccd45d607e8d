"""The embed_images / embed_texts stages on a tiny repo made here: outputs, fitting, caching."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from imagesearch.embedding.encoders.image_base import ImageEncoder
from imagesearch.embedding.encoders.text import load_text_encoder
from imagesearch.embedding.encoders.text_base import TextEncoder
from imagesearch.embedding.images import embed_image_table
from imagesearch.embedding.texts import embed_text_table
from imagesearch.embedding.vectors import load_vectors
from tests.encoder_fixtures import CAPTIONS, draw_images

REPO = Path(__file__).resolve().parents[1]


def write_images_table(root: Path, paths: list[Path]) -> None:
    rows = [{"image": p.name, "split": "train" if i % 3 else "test",
             "path": p.relative_to(root).as_posix(), "sha256": "", "width": 0, "height": 0}
            for i, p in enumerate(paths)]
    (root / "data/clean").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / "data/clean/images.parquet", index=False)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repo root with 4 images and captions (train captions + test queries), like validate's."""
    paths = draw_images(tmp_path / "images", n=4)
    write_images_table(tmp_path, paths)
    captions = pd.DataFrame({
        "query_id": [f"img0_{i % 4}.jpg#{i}" for i in range(len(CAPTIONS))] + ["q#0", "q#1"],
        "query_text": CAPTIONS + ["A dog runs across the green grass .", "zebra xylophone"],
        "query_image": ["img0_0.jpg"] * (len(CAPTIONS) + 2),
        "split": ["train"] * len(CAPTIONS) + ["test", "test"],
    })
    captions.to_parquet(tmp_path / "data/clean/captions.parquet", index=False)
    return tmp_path


@pytest.fixture
def count_encoded(monkeypatch) -> dict[str, int]:
    """Counts the items that actually reach an encoder (cache misses)."""
    counts = {"image": 0, "text": 0}
    for kind, cls in (("image", ImageEncoder), ("text", TextEncoder)):
        original = cls.encode

        def spy(self, items, *args, _original=original, _kind=kind, **kwargs):
            counts[_kind] += len(items)
            return _original(self, items, *args, **kwargs)

        monkeypatch.setattr(cls, "encode", spy)
    return counts


IMAGE_PARAMS = {"encoder": "efficientnet-lite0", "batch_size": 2, "options": {}}


@pytest.mark.slow  # embeds the tiny images twice with the default encoder
def test_embed_images_writes_all_images_and_reuses_the_cache(repo, count_encoded):
    first = embed_image_table(IMAGE_PARAMS, root=repo, progress=False)
    assert count_encoded["image"] == 4
    saved = load_vectors(repo / "data/features/images.npz")
    assert saved.ids == tuple(f"img0_{i}.jpg" for i in range(4))
    assert saved.vectors.shape == (4, 1280) and saved.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(saved.vectors, axis=1), 1.0, atol=1e-5)
    assert saved.encoder["name"] == "efficientnet-lite0"

    # second run: everything from the cache, identical output
    (repo / "data/features/images.npz").unlink()  # as DVC does before re-running a stage
    second = embed_image_table(IMAGE_PARAMS, root=repo, progress=False)
    assert count_encoded["image"] == 4
    np.testing.assert_array_equal(second.vectors, first.vectors)

    # a new image: only it is embedded
    new = draw_images(repo / "images", n=1, seed=7)
    write_images_table(repo, sorted((repo / "images").glob("*.jpg")))
    third = embed_image_table(IMAGE_PARAMS, root=repo, progress=False)
    assert count_encoded["image"] == 5 and new[0].name in third.ids
    np.testing.assert_allclose(third.take(first.ids), first.vectors, atol=0)


def test_image_cache_follows_content_and_encoder(repo, count_encoded, tmp_path_factory):
    import torch
    import torchvision

    weights = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        weights.append(tmp_path_factory.mktemp("w") / "resnet18.pt")
        torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights[-1])
    params = {"encoder": "resnet18", "batch_size": 4, "options": {"weights_path": str(weights[0])}}
    a = embed_image_table(params, root=repo, progress=False)
    embed_image_table(params, root=repo, progress=False)
    assert count_encoded["image"] == 4  # second run: all hits

    # other weights -> a different encoder -> no stale vectors
    params_b = {**params, "options": {"weights_path": str(weights[1])}}
    b = embed_image_table(params_b, root=repo, progress=False)
    assert count_encoded["image"] == 8
    assert not np.allclose(a.vectors, b.vectors)
    # batch size is not part of the key
    embed_image_table({**params, "batch_size": 1}, root=repo, progress=False)
    assert count_encoded["image"] == 8

    # changed bytes under the same file name -> re-embedded
    path = repo / "images/img0_0.jpg"
    draw_images(repo / "other", n=1, seed=3)[0].replace(path)
    c = embed_image_table(params, root=repo, progress=False)
    assert count_encoded["image"] == 9
    assert not np.allclose(c.vectors[0], a.vectors[0])
    np.testing.assert_array_equal(c.vectors[1:], a.vectors[1:])


def test_embed_texts_fits_on_train_only_and_saves_the_encoder(repo, count_encoded):
    params = {"encoder": "tfidf", "batch_size": 4, "options": {"dim": 3}}
    result = embed_text_table(params, root=repo, progress=False)
    # the duplicate text (caption 0 == q#0) is embedded once
    assert count_encoded["text"] == len(CAPTIONS) + 1
    saved = load_vectors(repo / "data/features/texts.npz")
    assert saved.ids == result.ids and len(saved.ids) == len(CAPTIONS) + 2
    assert saved.vectors.shape == (len(CAPTIONS) + 2, 3)

    encoder = load_text_encoder(repo / "data/features/text_encoder")
    assert "zebra" not in encoder.vectorizer.vocabulary_  # a test-only word: not fitted on
    np.testing.assert_array_equal(saved.take(["q#1"]), np.zeros((1, 3), np.float32))
    np.testing.assert_allclose(encoder.encode(["A dog runs across the green grass ."]),
                               saved.take(["q#0"]), atol=1e-6)

    # a rerun embeds nothing; a different dim is a different encoder: everything again
    before = count_encoded["text"]
    embed_text_table(params, root=repo, progress=False)
    assert count_encoded["text"] == before
    embed_text_table({**params, "options": {"dim": 2}}, root=repo, progress=False)
    assert count_encoded["text"] == before + len(CAPTIONS) + 1


def test_embed_texts_with_a_pretrained_encoder(repo):
    result = embed_text_table({"encoder": "use", "batch_size": 8}, root=repo, progress=False)
    assert result.vectors.shape == (len(CAPTIONS) + 2, 512)
    assert load_text_encoder(repo / "data/features/text_encoder").name == "use"


def test_missing_inputs_fail_clearly(repo):
    table = pd.read_parquet(repo / "data/clean/images.parquet")
    table.loc[0, "path"] = "images/missing.jpg"
    table.to_parquet(repo / "data/clean/images.parquet", index=False)
    with pytest.raises(FileNotFoundError, match="missing"):
        embed_image_table(IMAGE_PARAMS, root=repo, progress=False)
    assert not (repo / "data/features/images.npz").exists()


@pytest.mark.slow  # two stage processes, torch imported in each
def test_stage_scripts_run_from_the_command_line(repo):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["embed_images"] = IMAGE_PARAMS
    params["embed_texts"] = {"encoder": "tfidf", "batch_size": 8, "options": {"dim": 2}}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("embed_images", "embed_texts"):
        done = subprocess.run([sys.executable, str(REPO / "stages" / f"{stage}.py")], cwd=repo,
                              capture_output=True, text=True, env=dict(os.environ))
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""  # logging and progress go to stderr
    assert load_vectors(repo / "data/features/images.npz").vectors.shape == (4, 1280)
    assert load_vectors(repo / "data/features/texts.npz").vectors.shape == (len(CAPTIONS) + 2, 2)
