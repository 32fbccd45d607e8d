"""The ONNX copy of MiniLM encodes like the sentence-transformers encoder, without torch at query time."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")  # torch.onnx.export (TorchScript exporter) needs it at export time

from imagesearch.embedding.encoders.text import build_text_encoder  # noqa: E402
from imagesearch.embedding.encoders.minilm import export_minilm_onnx  # noqa: E402
from imagesearch.embedding.onnx_query import CONFIG_FILE, OnnxTextEncoder  # noqa: E402
from tests.encoder_fixtures import CAPTIONS, PARAPHRASE, UNRELATED  # noqa: E402

SENTENCES = [
    *CAPTIONS, *PARAPHRASE, UNRELATED,
    "two dogs play in the snow", "Two Dogs Play In The Snow!", "a", "?", "   padded   query   ",
    "A man in a blue shirt is standing on a ladder cleaning windows .",
    "Ünïcödé café — naïve résumé", "北京 的 狗 在 雪地 里 玩", "emoji 🐶🐕 in the snow ❄",
    "numbers 1234567890 and punctuation ... !!! ??? ;;;",
    "don't can't won't it's", "hyphen-ated well-known state-of-the-art",
    "word " * 300,  # longer than max_seq_length: truncated like sentence-transformers
    "A girl in a pink dress climbs into a wooden playhouse .",
    "Several people are standing near a fountain in a park .",
    "A skier jumps off a snowy ramp .", "A brown dog carries a stick in its mouth .",
    "Boys playing football on a beach at sunset .", "An old man sits on a bench reading a newspaper .",
    "A cyclist wearing a helmet rides down a mountain trail .",
    "Three children jump on a trampoline in the backyard .",
]


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder({"encoder": "minilm"})


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory, minilm):
    folder = tmp_path_factory.mktemp("minilm_onnx")
    export_minilm_onnx(minilm._model_path(), folder, source={"encoder": "minilm"})
    return folder


def test_export_writes_the_folder(onnx_dir):
    assert {p.name for p in onnx_dir.iterdir()} >= {"model.onnx", "tokenizer.json", CONFIG_FILE}
    config = json.loads((onnx_dir / CONFIG_FILE).read_text())
    assert config["max_length"] == 256 and config["dim"] == 384
    assert config["source"] == {"encoder": "minilm"}


def test_same_vectors_as_sentence_transformers(onnx_dir, minilm):
    onnx = OnnxTextEncoder.load(onnx_dir)
    expected = minilm.encode(SENTENCES)
    got = onnx.encode(SENTENCES)
    assert got.dtype == np.float32 and got.shape == expected.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((expected * got).sum(1).min()) > 0.9999
    # batching (padding to the longest in the batch) does not change a vector
    one_by_one = np.concatenate([onnx.encode(s) for s in SENTENCES[:8]])
    np.testing.assert_allclose(one_by_one, got[:8], atol=1e-5)
    small_batches = onnx.encode(SENTENCES, batch_size=3)
    np.testing.assert_allclose(small_batches, got, atol=1e-5)


def test_empty_input(onnx_dir):
    assert OnnxTextEncoder.load(onnx_dir).encode([]).shape == (0, 384)


def test_a_folder_without_its_model_is_refused_at_load(onnx_dir, tmp_path):
    import shutil

    shutil.copytree(onnx_dir, tmp_path / "onnx", ignore=shutil.ignore_patterns("model.onnx"))
    with pytest.raises(FileNotFoundError, match="model.onnx"):
        OnnxTextEncoder.load(tmp_path / "onnx")


def test_loading_and_encoding_import_no_torch(onnx_dir):
    code = (
        "import sys\n"
        "import imagesearch.serving.searcher\n"
        "from imagesearch.embedding.onnx_query import OnnxTextEncoder\n"
        f"v = OnnxTextEncoder.load({str(onnx_dir)!r}).encode(['two dogs play in the snow'])\n"
        "assert v.shape == (1, 384)\n"
        "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_saved_minilm_carries_the_onnx_copy_that_search_loads(tmp_path, minilm):
    """embed_texts saves the encoder with its ONNX copy; the index copies that folder whole and
    search encodes queries with the copy (same vectors), not with sentence-transformers."""
    from imagesearch.serving.searcher import load_query_encoder

    minilm.save(tmp_path / "text_encoder")
    assert (tmp_path / "text_encoder" / "onnx" / "model.onnx").is_file()
    encoder = load_query_encoder(tmp_path)
    assert isinstance(encoder, OnnxTextEncoder)
    assert float((encoder.encode(SENTENCES[:6]) * minilm.encode(SENTENCES[:6])).sum(1).min()) > 0.9999
