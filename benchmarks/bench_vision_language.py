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

And, with ``--quality``, what the model's own image–text cosine as a feature (``vl_cosine``,
:class:`~imagesearch.modeling.joint_space.VisionLanguageSpace`) changes: test MRR and R@k of the
cosine alone, of the relevance model without that feature and with it (params.yaml's train
section, both on the same pairs), on

- a simulated vision–language model: images and captions share latents; an image's vector and
  its captions' vectors are the latent plus independent noise, in one space (as a pretrained
  CLIP's are, before our training set is seen); judged near misses are graded by the latents'
  cosine, like tests/synthetic_pairs.py; 5 captions per training image, one query per test image;
  aligned (the cosine is the best possible score there) and misaligned (the text tower's latents
  turned part way: the cosine is informative but not the best);
- the tiny random-weight CLIP and SigLIP of the tests, embedding drawn images and word-salad
  captions for real; each image's captions are the pool texts that rank it best, so the cosine
  is informative by construction (random towers give no other signal).

    python -m benchmarks.bench_vision_language [--batch 32] [--queries 30] [--models clip,siglip]
    python -m benchmarks.bench_vision_language --quality [--train-images 300,1000] [--noise 1.5] [--misalign 0,0.5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

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


# -- what the VL cosine feature changes ---------------------------------------------------------
def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def simulated_world(n_train: int, n_test: int, noise: float, misalign: float = 0.0, dim: int = 64,
                    captions: int = 5, judged: int = 4, seed: int = 0) -> tuple[Any, Any, Any, Any, np.ndarray]:
    """(pairs, image_set, text_set, test queries' text vectors, test image vectors): one shared
    space, an image's and its captions' vectors its latent plus noise of scale ``noise``.

    ``misalign`` in [0, 1]: the texts' latents are turned by ``misalign`` x 90 degrees (towards a
    random rotation of them), as if the VL model's text and image towers agreed less on our domain
    than on its own: the cosine is then no longer the best score, a map learned on our pairs helps.
    """
    import pandas as pd

    from imagesearch.embedding.vectors import VectorSet

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_train + n_test, dim))
    images = unit(latent + noise * rng.normal(size=latent.shape))
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    angle = misalign * np.pi / 2
    text_latent = np.cos(angle) * latent + np.sin(angle) * latent @ rotation
    owner = np.repeat(np.arange(n_train), captions)
    texts = unit(text_latent[owner] + noise * rng.normal(size=(len(owner), dim)))
    queries = unit(text_latent[n_train:] + noise * rng.normal(size=(n_test, dim)))
    record = {"name": "clip", "weights_sha256": "simulated", "dim": dim}  # one VL model on both sides
    names = [f"img{i}" for i in range(n_train)]
    qids = [f"img{i}#{k}" for i in range(n_train) for k in range(captions)]
    unit_latent = unit(latent[:n_train])
    rows = []
    for t, qid in enumerate(qids):
        own = int(owner[t])
        rows.append(dict(image=names[own], query_id=qid, query_image=names[own], source="own", target=1.0))
        for other in rng.choice(np.delete(np.arange(n_train), own), judged, replace=False):
            relevance = float(np.clip((unit_latent[own] @ unit_latent[other] + 1) / 2, 0, 1)) ** 2
            rows.append(dict(image=names[other], query_id=qid, query_image=names[own], source="expert",
                             target=relevance))
    return (pd.DataFrame(rows), VectorSet(tuple(names), images[:n_train], record),
            VectorSet(tuple(qids), texts, record), queries, images[n_train:])


def tiny_model_world(family: str, folder: Path, n_images: int = 120, n_test: int = 40,
                     pool: int = 3000) -> tuple[Any, Any, Any, np.ndarray, np.ndarray]:
    """The same five things from a tiny random-weight ``family`` model: drawn images, and for each
    image the two pool captions that rank it best by the model's cosine (ties: the larger margin)."""
    import pandas as pd

    from imagesearch.embedding.encoders.image import build_image_encoder
    from imagesearch.embedding.encoders.text import build_text_encoder
    from imagesearch.embedding.vectors import VectorSet
    from tests.encoder_fixtures import WORDS, build_tiny_clip, build_tiny_siglip, draw_images

    model = {"clip": build_tiny_clip, "siglip": build_tiny_siglip}[family](folder / family)
    options = {"model": str(model)}
    image_encoder = build_image_encoder({"encoder": family, "batch_size": 16, "options": options})
    text_encoder = build_text_encoder({"encoder": family, "batch_size": 64, "options": options})
    rng = np.random.default_rng(0)
    texts = list(dict.fromkeys(" ".join(rng.choice(WORDS, 5)) for _ in range(pool)))
    image_vectors = image_encoder.encode(draw_images(folder / "images", n_images))
    text_vectors = text_encoder.encode(texts)
    cosine = image_vectors.astype(np.float64) @ text_vectors.T.astype(np.float64)
    rank = (cosine[None, :, :] > cosine[:, None, :]).sum(axis=1)  # (image, text): 0 = the text's best image
    chosen = [np.lexsort((-(cosine[i] - cosine.mean(axis=0)), rank[i]))[:2] for i in range(n_images)]
    n_train = n_images - n_test
    names = [f"img{i}" for i in range(n_train)]
    qids = [f"img{i}#{k}" for i in range(n_train) for k in range(2)]
    pairs = pd.DataFrame([dict(image=f"img{i}", query_id=f"img{i}#{k}", query_image=f"img{i}", source="own",
                               target=1.0) for i in range(n_train) for k in range(2)])
    return (pairs, VectorSet(tuple(names), image_vectors[:n_train], image_encoder.describe()),
            VectorSet(tuple(qids), text_vectors[[c[k] for c in chosen[:n_train] for k in range(2)]],
                      text_encoder.describe()),
            text_vectors[[c[0] for c in chosen[n_train:]]], image_vectors[n_train:])


def compare(world: tuple) -> dict[str, dict]:
    """Test ranking of the cosine alone, the model without ``vl_cosine`` and with it."""
    from imagesearch.modeling.metrics import ranking_report, ranks_of_gold
    from imagesearch.modeling.relevance import ModelConfig, RelevanceModel
    from imagesearch.params import section

    pairs, image_set, text_set, queries, catalog = world
    config = ModelConfig.from_params(section("train"))
    gold = np.arange(len(queries))
    grids = {"cosine alone": queries.astype(np.float64) @ catalog.T.astype(np.float64)}
    for label, feature in (("model without vl_cosine", False), ("model with vl_cosine", True)):
        start = time.perf_counter()
        model = RelevanceModel(config).fit(pairs, image_set, text_set, vision_language=feature)
        grids[label] = model.score_grid(model.image_side(catalog), queries)
        print(f"    ({label}: fitted and scored in {time.perf_counter() - start:.1f} s)", flush=True)
    return {label: ranking_report(ranks_of_gold(grid, gold)) for label, grid in grids.items()}


def print_comparison(title: str, reports: dict[str, dict]) -> None:
    print(f"\n{title}  [load average {os.getloadavg()[0]:.2f}]")
    for label, report in reports.items():
        print(f"  {label:26s} MRR {report['mrr']:.3f}  R@1 {report['recall_at_1']:.3f}  "
              f"R@10 {report['recall_at_10']:.3f}  ({report['n_queries']} queries)")


def quality(args: argparse.Namespace) -> None:
    for misalign in (float(m) for m in args.misalign.split(",")):
        for n_train in (int(n) for n in args.train_images.split(",")):
            world = simulated_world(n_train, args.test_images, args.noise, misalign)
            print_comparison(f"simulated VL model, noise {args.noise}, misalign {misalign}: {n_train} training "
                             f"images x 5 captions, {args.test_images}-image test catalog", compare(world))
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        for family in args.models.split(","):
            reports = compare(tiny_model_world(family, Path(tmp)))
            print_comparison(f"tiny random-weight {family}: 80 drawn training images x 2 captions, "
                             "40-image test catalog", reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="clip,siglip")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--folder", type=Path, help="build the models here (default: a temp dir)")
    parser.add_argument("--quality", action="store_true", help="what the vl_cosine feature changes (no speed)")
    parser.add_argument("--train-images", default="300,1000", help="simulated training images, comma-separated")
    parser.add_argument("--test-images", type=int, default=500)
    parser.add_argument("--noise", type=float, default=1.5, help="simulated noise scale (latent entries: 1)")
    parser.add_argument("--misalign", default="0,0.5", help="simulated text-tower misalignment, comma-separated")
    args = parser.parse_args()
    if args.quality:
        quality(args)
        return

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
