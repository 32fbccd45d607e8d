"""CLIP ViT-B/32 and SigLIP base-patch16-224 speed on this CPU, through the ``clip``/``siglip`` encoders.

No weights are downloaded: each model is built with the published architecture sizes and random
weights, saved like a hub snapshot (with a synthetic tokenizer of the real vocabulary size), and
loaded by the encoders from that folder. Speed does not depend on the weights' values, so the
numbers hold for the real checkpoints (tokenisation aside, a few µs per query).

Measures, per model:

- image tower: seconds per 1,000 images, model only (``embed_prepared`` on a batch of pre-decoded
  crops, default 32), in float64 (the default, byte-stable) and float32 (``options.precision``);
- text tower: ms per single query, torch float64 (``encode``) and the ONNX copy search uses
  (:class:`~imagesearch.embedding.onnx_query.OnnxTextEncoder`, float32), median of ``--queries``.

    python -m benchmarks.bench_vision_language [--batch 32] [--queries 30] [--models clip,siglip]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

QUERIES = ["a dog runs across the green grass", "two people ride bicycles down a city street",
           "a man climbs a steep rock wall", "children splash in a swimming pool",
           "a woman in a red coat walks in the snow"]


def synthetic_words(n: int) -> list[str]:
    """``n`` distinct lowercase pseudo-words (the vocabulary filler)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(letters[(i // 26 ** k) % 26] for k in range(4)) for i in range(n)]


def build_clip_b32(folder: Path) -> Path:
    """openai/clip-vit-base-patch32's architecture with random weights, a CLIPTokenizer over a
    49,408-token vocabulary and the default CLIP image processor (224, centre crop 224)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    words = [w for w in dict.fromkeys(" ".join(QUERIES).split() + synthetic_words(49406)) if len(w) > 1]
    for word in words[:49406 - len(vocab)]:
        vocab[word + "</w>"] = len(vocab)
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = 49406, 49407
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")  # letter-level: fine for timing
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    config = CLIPConfig(
        text_config=dict(hidden_size=512, num_hidden_layers=12, num_attention_heads=8,
                         intermediate_size=2048, max_position_embeddings=77, vocab_size=49408,
                         bos_token_id=49406, eos_token_id=49407, pad_token_id=49407),
        vision_config=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072, image_size=224, patch_size=32),
        projection_dim=512)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor().save_pretrained(folder)
    return folder


def build_siglip_b16(folder: Path) -> Path:
    """google/siglip-base-patch16-224's architecture with random weights, a word-level tokenizer
    over a 32,000-token vocabulary (eos = pad, as SigLIP's) and the SigLIP processor (224 x 224)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, SiglipConfig, SiglipImageProcessor, SiglipModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in dict.fromkeys(" ".join(QUERIES).split() + synthetic_words(32000)):
        if len(vocab) == 32000:
            break
        vocab["▁" + word] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="</s>", pad_token="</s>",
                                        unk_token="<unk>", model_max_length=64)
    config = SiglipConfig(
        text_config=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072, max_position_embeddings=64, vocab_size=32000,
                         bos_token_id=None, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072, image_size=224, patch_size=16))
    torch.manual_seed(0)
    SiglipModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor().save_pretrained(folder)
    return folder


def image_seconds_per_1000(name: str, folder: Path, precision: str, batch: int) -> float:
    """Model-only seconds per 1,000 images on one batch of random uint8 crops (after a warm-up)."""
    from imagesearch.embedding.encoders.image import build_image_encoder

    encoder = build_image_encoder({"encoder": name, "batch_size": batch,
                                   "options": {"model": str(folder), "precision": precision,
                                               "device": "cpu"}})
    crops = np.random.default_rng(0).integers(0, 256, (batch, encoder.crop_size, encoder.crop_size, 3),
                                              dtype=np.uint8)
    encoder.embed_prepared(crops[:2])  # load + warm-up
    start = time.perf_counter()
    encoder.embed_prepared(crops)
    return (time.perf_counter() - start) / batch * 1000


def query_ms(encode, queries: int) -> float:
    """Median ms to encode one query, over ``queries`` calls (after a warm-up)."""
    encode(QUERIES[0])
    times = []
    for i in range(queries):
        start = time.perf_counter()
        encode(QUERIES[i % len(QUERIES)])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="clip,siglip")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--folder", type=Path, help="build the models here (default: a temp dir)")
    args = parser.parse_args()

    import torch

    from imagesearch.embedding.encoders.text import build_text_encoder
    from imagesearch.embedding.onnx_query import OnnxTextEncoder

    builders = {"clip": ("CLIP ViT-B/32", build_clip_b32), "siglip": ("SigLIP base-patch16-224", build_siglip_b16)}
    print(f"CPU: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}; random weights, "
          f"published architectures")
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        for name in args.models.split(","):
            label, build = builders[name]
            start = time.perf_counter()
            folder = build(Path(tmp) / name)
            print(f"\n{label}: built and saved in {time.perf_counter() - start:.1f} s")
            for precision in ("float64", "float32"):
                seconds = image_seconds_per_1000(name, folder, precision, args.batch)
                print(f"  image tower {precision}: {seconds:7.1f} s / 1,000 images "
                      f"({1000 / seconds:.1f} images/s, batch {args.batch})")
            text = build_text_encoder({"encoder": name, "options": {"model": str(folder), "device": "cpu"}})
            print(f"  text tower torch float64: {query_ms(text.encode, args.queries):7.1f} ms / query")
            start = time.perf_counter()
            text.export_onnx(Path(tmp) / f"{name}_onnx")
            export = time.perf_counter() - start
            onnx = OnnxTextEncoder.load(Path(tmp) / f"{name}_onnx")
            print(f"  text tower ONNX float32:  {query_ms(onnx.encode, args.queries):7.1f} ms / query "
                  f"(export + check {export:.1f} s)")
            del text, onnx


if __name__ == "__main__":
    main()
