"""Tiny inputs for the encoder tests: PIL-drawn images, captions, and TF SavedModels built here."""
from __future__ import annotations

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
