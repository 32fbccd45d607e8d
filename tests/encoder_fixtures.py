"""Tiny inputs for the encoder tests: PIL-drawn images, captions, and models built here (TF
SavedModels, random-weight CLIP and SigLIP), plus the params that select each backend."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CAPTIONS = [
    "A dog runs across the green grass .",
    "A black dog is running on a lawn .",
    "Two people ride bicycles down a city street .",
    "A man climbs a steep rock wall .",
    "Children splash in a swimming pool .",
    "A woman in a red coat walks in the snow .",
]
PARAPHRASE = ("A dog is running through a grassy field .", "A puppy sprints over the lawn .")
UNRELATED = "The quarterly tax report is due next Monday ."


def draw_images(folder: Path, n: int = 5, seed: int = 0) -> list[Path]:
    """``n`` distinct JPEGs of assorted sizes and aspect ratios (some portrait, one grey)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [(320, 240), (240, 320), (300, 300), (500, 333), (260, 400), (333, 500)]
    paths = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        image = Image.new("RGB", (w, h), tuple(int(c) for c in rng.integers(0, 255, 3)))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
            draw.ellipse([x0, y0, x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))],
                         fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        if i == 2:
            image = image.convert("L")  # a greyscale file must still encode
        path = folder / f"img{seed}_{i}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def build_tf_image_model(folder: Path) -> Path:
    """A SavedModel mapping (n, h, w, 3) float images in [0, 1] to (n, 8) features."""
    import tensorflow as tf

    class TinyImage(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.stateless_normal((3, 8), seed=(1, 2)))

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def __call__(self, x):
            pooled = tf.concat([tf.reduce_mean(x, axis=[1, 2]), tf.reduce_max(x, axis=[1, 2])], 0)
            n = tf.shape(x)[0]
            return tf.matmul(pooled[:n] - 0.5, self.w) + 0.1 * tf.matmul(pooled[n:], self.w)

    tf.saved_model.save(TinyImage(), str(folder))
    return folder


def build_tf_text_model(folder: Path) -> Path:
    """A SavedModel mapping (n,) strings to (n, 8): mean of hashed-word embeddings."""
    import tensorflow as tf

    class TinyText(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = tf.Variable(tf.random.stateless_normal((97, 8), seed=(3, 4)))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            words = tf.strings.split(tf.strings.lower(texts))
            ids = tf.strings.to_hash_bucket_fast(words, 97)
            vectors = tf.gather(self.table, ids)  # ragged (n, words, 8)
            return tf.reduce_mean(vectors, axis=1) + 1e-3

    tf.saved_model.save(TinyText(), str(folder))
    return folder


# the vocabulary of the tiny CLIP/SigLIP tokenizers
WORDS = ["a", "dog", "runs", "across", "the", "green", "grass", "black", "is", "running", "on",
         "lawn", "two", "people", "ride", "bicycles", "down", "city", "street", "man", "climbs",
         "snow", "woman", "red", "coat", "walks", "in", "children", "pool", "word"]


def _clip_tokenizer_files(folder: Path) -> None:
    """vocab.json + merges.txt of a small byte-level BPE: letters, and whole words via merges."""
    vocab: dict[str, int] = {"<|startoftext|>": 0}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab.setdefault(letter, len(vocab))
        vocab.setdefault(letter + "</w>", len(vocab))
    merges = []
    for word in WORDS:
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            merges.append(f"{parts[0]} {parts[1]}")
            parts = [parts[0] + parts[1]] + parts[2:]
            vocab.setdefault(parts[0], len(vocab))
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")


def build_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A random-weight CLIP (hidden 32, 2 layers, 2 heads, 32 px images in 8 px patches,
    projection 16) with a CLIPTokenizer and CLIPImageProcessor, saved into ``folder``."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    _clip_tokenizer_files(folder)
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    vocab_size = len(tokenizer.get_vocab())
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = CLIPConfig(
        text_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, vocab_size=vocab_size, max_position_embeddings=16,
                         bos_token_id=0, eos_token_id=eos, pad_token_id=eos),
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, image_size=32, patch_size=8),
        projection_dim=16)
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size=32, crop_size=32).save_pretrained(folder)
    return folder


def build_tiny_siglip(folder: Path, seed: int = 0) -> Path:
    """A random-weight SigLIP (hidden 32, 2 layers, 2 heads, 32 px images in 8 px patches) with a
    word-level ``tokenizers`` tokenizer (eos = pad = ``</s>``, as SigLIP's) and its processor."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, SiglipConfig, SiglipImageProcessor, SiglipModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{"▁" + w: i + 3 for i, w in enumerate(WORDS)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Punctuation("removed"),
                                                     pre_tokenizers.Metaspace()])
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="</s>", pad_token="</s>",
                                        unk_token="<unk>", model_max_length=16)
    config = SiglipConfig(
        text_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, vocab_size=len(vocab), max_position_embeddings=16,
                         bos_token_id=None, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, image_size=32, patch_size=8))
    torch.manual_seed(seed)
    SiglipModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def text_options(name: str, tf_models: dict[str, Path], vl_models: dict[str, Path]) -> dict:
    """Options that select text backend ``name`` with the models the conftest fixtures build."""
    return {"minilm": {}, "use": {}, "tfidf": {"dim": 4}, "tfhub": {"handle": str(tf_models["text"])},
            "clip": {"model": str(vl_models["clip"])}, "siglip": {"model": str(vl_models["siglip"])}}[name]
