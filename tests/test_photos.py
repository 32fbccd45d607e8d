"""Where the catalog photos are: the project's own paths, or --images DIR for a fetched index."""
from pathlib import Path

import pandas as pd
import pytest

from imagesearch.serving.photos import PhotoFolderError, missing_photos_line, photo_paths

CATALOG = pd.DataFrame({"image": ["a.jpg", "b.jpg"],
                        "path": ["data/raw/test_images/a.jpg", "data/raw/test_images/b.jpg"]})


def test_an_index_inside_its_project_resolves_against_the_project(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    index = tmp_path / "data" / "index"
    index.mkdir(parents=True)
    assert photo_paths(CATALOG, index) == [str(tmp_path.resolve() / p) for p in CATALOG["path"]]


def test_images_dir_finds_the_photos_by_file_name(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"x")
    found = photo_paths(CATALOG, tmp_path / "index", photos)
    assert found == [str(photos.resolve() / "a.jpg"), str(photos.resolve() / "b.jpg")]
    line = missing_photos_line(found)
    assert line is not None and line.startswith("1 of 2 catalog photos are not on this machine")
    assert "--images DIR" in line and "b.jpg" in line
    (photos / "b.jpg").write_bytes(b"x")
    assert missing_photos_line(found) is None


def test_a_missing_images_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(PhotoFolderError, match=r"--images .*nowhere: no such folder"):
        photo_paths(CATALOG, tmp_path / "index", tmp_path / "nowhere")
