"""The seed's demonstration as a picture: random test queries with their top images and scores.

Blocked queries get the disclaimer instead of images; a blocked image that the model ranks in the
top k is drawn as the disclaimer card, never as the photo.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from imagesearch.atomic import atomic_path  # noqa: E402
from imagesearch.legal.rules import DISCLAIMER  # noqa: E402


@dataclass(frozen=True)
class GalleryRow:
    query: str
    gold_image: str
    blocked_query: bool
    hits: list[tuple[str, float, bool]]   # (image, score, blocked)


def sample_gallery_rows(scores: np.ndarray, queries: pd.DataFrame, catalog: list[str],
                        blocked_queries: set[str], blocked_images: set[str], n_queries: int,
                        top_k: int, seed: int) -> list[GalleryRow]:
    """``n_queries`` random queries (``seed``), in row order, each with its ``top_k`` images.

    ``scores``: (n_queries, n_catalog) of ``queries`` against ``catalog``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for q in sorted(rng.choice(len(queries), size=min(n_queries, len(queries)), replace=False)):
        top = np.argsort(-scores[q], kind="stable")[:top_k]
        rows.append(GalleryRow(
            query=queries["query_text"].iloc[q], gold_image=queries["image"].iloc[q],
            blocked_query=queries["query_id"].iloc[q] in blocked_queries,
            hits=[(catalog[i], float(scores[q, i]), catalog[i] in blocked_images) for i in top]))
    return rows


def render_gallery(rows: list[GalleryRow], image_paths: dict[str, str], path: str | Path) -> None:
    """Draw one row per query: the query text, then its top images with scores; save as PNG."""
    top_k = max((len(r.hits) for r in rows), default=1)
    figure, axes = plt.subplots(len(rows), top_k + 1, figsize=(2.4 * (top_k + 1), 2.4 * len(rows)),
                                squeeze=False)
    for axis_row, row in zip(axes, rows):
        for axis in axis_row:
            axis.axis("off")
        axis_row[0].text(0, 0.5, textwrap.fill(row.query, 28), fontsize=8, va="center", wrap=True)
        if row.blocked_query:
            _card(axis_row[1], DISCLAIMER)
            continue
        for axis, (image, score, blocked) in zip(axis_row[1:], row.hits):
            if blocked:
                _card(axis, DISCLAIMER)
            else:
                with Image.open(image_paths[image]) as picture:
                    axis.imshow(picture.convert("RGB"))
            mark = " ✓" if image == row.gold_image else ""
            axis.set_title(f"{score:.3f}{mark}", fontsize=9, color="green" if mark else "black")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=60)
    plt.close(figure)


def _card(axis: plt.Axes, text: str) -> None:
    axis.add_patch(plt.Rectangle((0, 0), 1, 1, color="#eeeeee", transform=axis.transAxes))
    axis.text(0.5, 0.5, textwrap.fill(text, 22), ha="center", va="center", fontsize=7,
              transform=axis.transAxes)
