"""Building the search index: what the searcher needs to answer a query without touching images.

The folder is self-contained (model, text encoder, catalog, per-image precomputation), so a
server needs only ``dvc pull data/index``. Blocked images are left out here, once, for everyone.
The image side (the exhaustive index's, or each chunk's of the two-stage build) is computed in
chunks of catalog images, here or as tasks on a Dask cluster (``IMAGESEARCH_SCHEDULER``,
:mod:`imagesearch.cluster`): the same chunks either way.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagesearch import paths
from imagesearch.atomic import atomic_path
from imagesearch.cluster import IN_PROCESS, MIN_TASKS, Tasks, chunk_slices
from imagesearch.embedding.vectors import VectorSet
from imagesearch.modeling.space_files import IMAGE_SIDE_FILE, write_image_side
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.params import SearchParams

VISUAL_CLASSIFIER_FILE = paths.INDEX_VISUAL_CLASSIFIER
PHOTO_VERDICTS_FILE = paths.INDEX_PHOTO_VERDICTS
TWO_STAGE_DIR = paths.INDEX_TWO_STAGE
CHUNK = 25_000  # images per chunk (and task) of the two-stage build: the full float32 image side never exists at once
SAMPLE = 100_000  # images that train the IVF lists
IMAGES_PER_TASK = 4096  # catalog images per task of the exhaustive index's image side


def image_side_on_worker(vectors: np.ndarray, model: RelevanceModel) -> Any:
    """One task: a chunk of catalog image vectors -> the model's image side of it."""
    return model.image_side(vectors)


def image_side_in_chunks(model: RelevanceModel, vectors: np.ndarray, runner: Tasks = IN_PROCESS) -> Any:
    """``model.image_side(vectors)`` computed in chunks on ``runner``, rows in catalog order."""
    parts = runner.map(image_side_on_worker, [vectors[part] for part in chunk_slices(len(vectors), IMAGES_PER_TASK)],
                       desc="index: image side", describe=lambda chunk: f"{len(chunk)} catalog images",
                       shared={"model": model}, progress=False)
    if len(parts) < 2:
        return parts[0] if parts else model.image_side(vectors)
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return type(parts[0])(*(np.concatenate([getattr(part, name) for part in parts])
                            for name in parts[0].__dataclass_fields__))


def image_sides(model: RelevanceModel, vectors: np.ndarray, runner: Tasks = IN_PROCESS,
                chunk: int = CHUNK) -> Iterator[Any]:
    """The model's image side of each chunk of ``vectors`` (``chunk_slices`` of at most ``chunk``),
    in catalog order, computed on ``runner`` :data:`MIN_TASKS` chunks at a time so that this
    process holds the sides of at most that many chunks at once."""
    parts = chunk_slices(len(vectors), chunk)
    for first in range(0, len(parts), MIN_TASKS):
        yield from runner.map(image_side_on_worker, [vectors[part] for part in parts[first:first + MIN_TASKS]],
                              desc="index: two-stage image side", shared={"model": model}, progress=False,
                              describe=lambda chunk: f"{len(chunk)} catalog images")


def build_two_stage(model: RelevanceModel, vectors: np.ndarray, search: SearchParams,
                    runner: Tasks = IN_PROCESS) -> Any:
    """The two-stage search over the catalog's image vectors (rows in catalog order), the chunks'
    image sides computed on ``runner``."""
    from imagesearch.serving.two_stage import TwoStageSearch, candidate_spec

    rng = np.random.default_rng(0)
    sample = vectors[np.sort(rng.choice(len(vectors), min(SAMPLE, len(vectors)), replace=False))]
    return TwoStageSearch.build(model, image_sides(model, vectors, runner), sample, candidate_spec(len(vectors)),
                                search.nprobe, search.candidates, sides=True)


@dataclass(frozen=True)
class IndexParts:
    """The pipeline's artifacts that an index copies in. The optional ones may be absent (tests
    build indexes without them): ``visual_classifier`` (the legal stage's joblib file) lets
    ``imagesearch score`` flag an uploaded photo that no caption describes; ``crosslingual_rule``
    (its JSON word rule) checks queries in languages the term list lacks; ``query_aligner`` (the
    align_queries stage's map) ranks non-English queries in the model's space."""

    model: Path
    text_encoder: Path
    visual_classifier: Path | None = None
    crosslingual_rule: Path | None = None
    query_aligner: Path | None = None

    @classmethod
    def of_pipeline(cls) -> IndexParts:
        """Every part, where the pipeline's stages write them (:mod:`imagesearch.paths`)."""
        return cls(paths.MODEL, paths.TEXT_ENCODER, paths.VISUAL_CLASSIFIER, paths.CROSSLINGUAL_RULE,
                   paths.QUERY_ALIGNER)


def build_index(folder: str | Path, parts: IndexParts, images: pd.DataFrame, image_set: VectorSet,
                blocked: set[str], search: SearchParams = SearchParams(),
                seen_photos: pd.DataFrame | None = None, runner: Tasks = IN_PROCESS) -> dict:
    """Write the index for the catalog ``images`` (image, path, optional sha256) minus ``blocked``;
    return its manifest. ``catalog.parquet`` keeps the sha256 column: ``imagesearch score`` finds a
    catalog photo by its content hash and scores it from the stored image side, without embedding it.

    ``search`` (the params' ``index`` section) decides from which catalog size the index holds the
    two-stage search (``two_stage/``: FAISS candidates + compact image side) instead of the full
    per-image precomputation (``image_side.npz``) that is scored exhaustively.
    ``manifest["image_encoder"]`` is the encoder description stored with the image vectors
    (``VectorSet.encoder``), from which the scorer rebuilds the same image encoder. ``seen_photos``
    (image, sha256) are every photo the pipeline judged, train and catalog: their verdicts are
    stored by content hash so that ``score`` refuses a blocked photo under any name and asks the
    classifier only about new ones. ``runner``: where the image side's chunks are computed.
    """
    model = RelevanceModel.load(parts.model)
    columns = ["image", "path", "sha256"] if "sha256" in images.columns else ["image", "path"]
    catalog = images.loc[~images["image"].isin(blocked), columns].sort_values("image")
    two_stage = len(catalog) >= search.two_stage_from
    manifest = {
        "search": "two_stage" if two_stage else "exhaustive",
        "catalog_images": int(len(images)),
        "indexed_images": int(len(catalog)),
        "blocked_images_left_out": int(images["image"].isin(blocked).sum()),
        "image_encoder": image_set.encoder,
        "visual_classifier": VISUAL_CLASSIFIER_FILE if parts.visual_classifier is not None else None,
        "crosslingual_rule": paths.INDEX_CROSSLINGUAL_RULE if parts.crosslingual_rule is not None else None,
        "query_aligner": paths.INDEX_QUERY_ALIGNER if parts.query_aligner is not None else None,
        "photo_verdicts": int(seen_photos["sha256"].nunique()) if seen_photos is not None else 0,
    }
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        shutil.copytree(parts.model, tmp / "model")
        shutil.copytree(parts.text_encoder, tmp / "text_encoder")
        if parts.visual_classifier is not None:
            shutil.copy2(parts.visual_classifier, tmp / VISUAL_CLASSIFIER_FILE)
        if parts.crosslingual_rule is not None:
            shutil.copy2(parts.crosslingual_rule, tmp / paths.INDEX_CROSSLINGUAL_RULE)
        if parts.query_aligner is not None:
            shutil.copytree(parts.query_aligner, tmp / paths.INDEX_QUERY_ALIGNER)
        catalog.to_parquet(tmp / "catalog.parquet", index=False)
        if seen_photos is not None:
            verdicts = pd.DataFrame({"sha256": seen_photos["sha256"].astype(str),
                                     "blocked": seen_photos["image"].isin(blocked).to_numpy()})
            verdicts = verdicts.groupby("sha256", sort=True)["blocked"].max().reset_index()
            verdicts.to_parquet(tmp / PHOTO_VERDICTS_FILE, index=False)
        vectors = image_set.take(list(catalog["image"]))
        if two_stage:
            build_two_stage(model, vectors, search, runner).save(tmp / TWO_STAGE_DIR)
        else:
            write_image_side(tmp / IMAGE_SIDE_FILE, image_side_in_chunks(model, vectors, runner))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest
