"""Validation: raw tables and images -> clean typed tables, every row kept or quarantined.

Policy (docs/bad-input.md, "Policy"): a problem with a whole file (missing, not UTF-8, wrong
number of columns throughout, a header where none belongs, no rows) fails fast with the file, line
and problem. A problem with one row or one image quarantines it under a named reason; every input row
is either kept or counted (``rows_in == rows_kept + rows_quarantined``).
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from imagesearch.data.tables import (CROWD, EXPERT, TABLES, TEST_IMAGES, TEST_QUERIES, TRAIN_PAIRS, DataError,
                                     Quarantine, read_table)

MAX_VOTES = 1_000_000  # more votes than this on one pair is a broken count, not a crowd
QUERY_ID = re.compile(r"^(?P<image>[^#\s]+\.(?:jpg|jpeg|png))#(?P<n>\d+)$", re.IGNORECASE)


def drop_rows(frame: pd.DataFrame, bad: pd.Series, table: str, reason: str,
              quarantine: Quarantine, detail: pd.Series | str = "") -> pd.DataFrame:
    """Quarantine the rows where ``bad`` is True under ``reason``; return the rest."""
    bad = bad.fillna(True).astype(bool)
    details = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=frame.index)
    for line, text in zip(frame.loc[bad, "line"], details[bad].astype(str)):
        quarantine.add(table, int(line), reason, text)
    return frame.loc[~bad]


def split_query_ids(frame: pd.DataFrame, table: str, quarantine: Quarantine) -> pd.DataFrame:
    """Quarantine malformed ``query_id`` values; add ``query_image`` (the caption's own image)."""
    parsed = frame["query_id"].str.strip().str.extract(QUERY_ID)
    frame = frame.assign(query_id=frame["query_id"].str.strip(), query_image=parsed["image"])
    return drop_rows(frame, parsed["image"].isna(), table, "bad_query_id", quarantine,
                     frame["query_id"].astype(str))


def numeric(frame: pd.DataFrame, column: str, table: str, quarantine: Quarantine) -> pd.DataFrame:
    """Parse ``column`` as numbers; NaN, inf and text are quarantined as ``non_numeric_<column>``."""
    raw = frame[column]
    values = pd.to_numeric(raw.str.strip(), errors="coerce").astype("float64")
    frame = frame.assign(**{column: values})
    return drop_rows(frame, ~np.isfinite(values), table, f"non_numeric_{column}", quarantine,
                     raw.astype(str))


def drop_duplicates(frame: pd.DataFrame, key: list[str], values: list[str], table: str,
                    quarantine: Quarantine) -> pd.DataFrame:
    """Exact repeats keep their first row; repeats that disagree on ``values`` are all quarantined."""
    repeated = frame.duplicated(key + values, keep="first")
    frame = drop_rows(frame, repeated, table, "duplicate_row", quarantine)
    conflicting = frame.duplicated(key, keep=False)
    return drop_rows(frame, conflicting, table, "conflicting_duplicate", quarantine,
                     _joined(frame, key, "/"))


def _joined(frame: pd.DataFrame, columns: list[str], sep: str) -> pd.Series:
    """The columns' values joined per row (an empty Series for an empty frame, not a DataFrame)."""
    if frame.empty:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[columns].astype(str).agg(sep.join, axis=1)


def drop_missing_images(frame: pd.DataFrame, column: str, valid: set[str], table: str,
                        quarantine: Quarantine) -> pd.DataFrame:
    return drop_rows(frame, ~frame[column].isin(valid), table, f"unknown_{column}", quarantine,
                     frame[column].astype(str))


@dataclass(frozen=True)
class ImageCheck:
    ok: bool
    reason: str = ""
    width: int = 0
    height: int = 0
    sha256: str = ""


def check_image(path: Path, min_side: int, max_pixels: int) -> ImageCheck:
    """Decode an image fully; name the reason when it cannot be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ImageCheck(False, "missing_file")
    digest = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return ImageCheck(False, "too_many_pixels", width, height, digest)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return ImageCheck(False, "too_many_pixels", sha256=digest)
    except Exception:  # PIL raises many types for broken files; all mean "cannot decode"
        return ImageCheck(False, "undecodable", sha256=digest)
    if min(width, height) < min_side:
        return ImageCheck(False, "too_small", width, height, digest)
    return ImageCheck(True, "", width, height, digest)


#: Images per cluster task: enough that a task (~20 ms an image) outlasts its scheduling overhead.
IMAGES_PER_TASK = 64


def check_on_worker(task: tuple[list[str], int, int]) -> list[ImageCheck]:
    """One cluster task: (image paths, min_side, max_pixels) -> their checks."""
    names, min_side, max_pixels = task
    return [check_image(Path(name), min_side, max_pixels) for name in names]


def check_images(root: Path, images: list[Path], min_side: int, max_pixels: int,
                 progress: bool = True) -> list[ImageCheck]:
    """:func:`check_image` of every path, in order: here or, with ``IMAGESEARCH_SCHEDULER`` set,
    in chunks on the Dask cluster (the checks are pure functions of the bytes: same result)."""
    from imagesearch.cluster import cluster_client

    if not images:
        return []
    with cluster_client(root) as client:
        return check_images_on(client, images, min_side, max_pixels, progress)


def check_images_on(client, images: list[Path], min_side: int, max_pixels: int,
                    progress: bool = True) -> list[ImageCheck]:
    """:func:`check_images` with a given Dask client (None: in this process)."""
    from tqdm import tqdm

    from imagesearch.cluster import map_in_order

    if client is None:
        return [check_image(path, min_side, max_pixels)
                for path in tqdm(images, desc="check images", unit="img", disable=not progress)]
    absolute = [str(path.resolve()) for path in images]
    tasks = [(absolute[start:start + IMAGES_PER_TASK], min_side, max_pixels)
             for start in range(0, len(absolute), IMAGES_PER_TASK)]
    parts = map_in_order(client, check_on_worker, tasks, desc="check images (cluster)",
                         describe=lambda task: f"{len(task[0])} images from {task[0][0]}")
    return [check for part in parts for check in part]


def inspect_images(root: Path, listed: dict[str, list[str]], min_side: int, max_pixels: int,
                   quarantine: Quarantine, progress: bool = True) -> pd.DataFrame:
    """One row per usable image of ``listed`` (split -> file names in ``<split>_images/``);
    unusable ones are quarantined under table ``images``."""
    named = [(split, name) for split, names in listed.items() for name in names]
    checks = check_images(root, [root / f"{split}_images" / name for split, name in named],
                          min_side, max_pixels, progress)
    rows = []
    quarantine.rows_in["images"] += len(named)
    for (split, name), result in zip(named, checks):
        if result.ok:
            rows.append({"image": name, "split": split, "path": str(root / f"{split}_images" / name),
                         "sha256": result.sha256, "width": result.width, "height": result.height})
        else:
            quarantine.add("images", None, result.reason, f"{split}_images/{name}")
    return pd.DataFrame(rows, columns=["image", "split", "path", "sha256", "width", "height"])


@dataclass
class CleanData:
    """The validated tables that the rest of the pipeline reads."""

    images: pd.DataFrame
    captions: pd.DataFrame
    train_pairs: pd.DataFrame
    expert: pd.DataFrame
    crowd: pd.DataFrame
    test_queries: pd.DataFrame
    quarantine: Quarantine
    test_listing_rows: int

    def quality_report(self) -> dict:
        kept = {
            TRAIN_PAIRS.file: len(self.train_pairs), EXPERT.file: len(self.expert),
            CROWD.file: len(self.crowd), TEST_QUERIES.file: len(self.test_queries),
            TEST_IMAGES.file: self.test_listing_rows,
            "images": len(self.images),
        }
        return self.quarantine.report(kept)


def validate_dataset(root: str | Path, min_side: int, max_pixels: int, progress: bool = True) -> CleanData:
    """Read the four tables and both image folders from ``root``; validate everything."""
    root = Path(root)
    q = Quarantine()
    tables = {spec.file: read_table(root / spec.file, spec, q) for spec in TABLES}

    train_names = sorted(p.name for p in (root / "train_images").glob("*") if p.is_file())
    test_listed = tables[TEST_IMAGES.file]
    test_listed = test_listed.assign(image=test_listed["image"].str.strip())
    test_listed = drop_rows(test_listed, test_listed.duplicated("image"), TEST_IMAGES.file,
                            "duplicate_row", q)
    # a listed name must be a plain file name in test_images/, never a path out of it
    test_listed = drop_rows(test_listed, ~test_listed["image"].map(_plain_name), TEST_IMAGES.file,
                            "bad_image_name", q, test_listed["image"])
    test_listed = drop_rows(test_listed, ~test_listed["image"].map(lambda n: (root / "test_images" / n).is_file()),
                            TEST_IMAGES.file, "missing_file", q, test_listed["image"])
    images = inspect_images(root, {"train": train_names, "test": list(test_listed["image"])},
                            min_side, max_pixels, q, progress)
    train_ok = set(images.loc[images["split"] == "train", "image"])
    test_ok = set(images.loc[images["split"] == "test", "image"])
    # a test image listed but unusable was quarantined under "images"; the listing row is kept.

    pairs = _clean_train_pairs(tables[TRAIN_PAIRS.file], train_ok, q)
    expert = _clean_expert(tables[EXPERT.file], train_ok, q)
    crowd = _clean_crowd(tables[CROWD.file], train_ok, q)
    queries = _clean_test_queries(tables[TEST_QUERIES.file], test_ok, q)

    train_captions = pairs[["query_id", "query_text", "query_image"]].drop_duplicates("query_id")
    captions = pd.concat([
        train_captions.assign(split="train"),
        queries[["query_id", "query_text"]].assign(query_image=queries["image"], split="test"),
    ], ignore_index=True)
    _require_rows(root, {"train_images": (images["split"] == "train").sum(),
                         "test_images": (images["split"] == "test").sum(),
                         TRAIN_PAIRS.file: len(pairs), EXPERT.file: len(expert), CROWD.file: len(crowd),
                         TEST_QUERIES.file: len(queries)}, q)
    return CleanData(
        images=images,
        captions=captions.reset_index(drop=True),
        train_pairs=pairs[["image", "query_id", "query_image"]].reset_index(drop=True),
        expert=expert.drop(columns="line").reset_index(drop=True),
        crowd=crowd.drop(columns="line").reset_index(drop=True),
        test_queries=queries[["query_id", "query_text", "image"]].reset_index(drop=True),
        quarantine=q,
        test_listing_rows=len(test_listed),
    )


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0:")


def _require_rows(root: Path, kept: dict[str, int], q: Quarantine) -> None:
    """A table (or image folder) with nothing left after quarantine fails fast, naming why."""
    for table, n in kept.items():
        if n == 0:
            key = "images" if table.endswith("_images") else table
            reasons = dict(q.count(key).most_common(3)) or "none"
            raise DataError(f"{root / table}: nothing usable left after validation "
                            f"(most common quarantine reasons: {reasons})")


def _strip_text(frame: pd.DataFrame, table: str, q: Quarantine) -> pd.DataFrame:
    text = frame["query_text"].str.strip()
    frame = frame.assign(query_text=text)
    return drop_rows(frame, text.isna() | (text == "") | text.str.lower().isin(["nan", "none", "null"]),
                     table, "empty_caption", q)


def _clean_train_pairs(frame: pd.DataFrame, train_ok: set[str], q: Quarantine) -> pd.DataFrame:
    table = TRAIN_PAIRS.file
    frame = frame.assign(image=frame["image"].str.strip())
    frame = split_query_ids(frame, table, q)
    frame = _strip_text(frame, table, q)
    frame = drop_duplicates(frame, ["image", "query_id"], ["query_text"], table, q)
    texts_per_id = frame.groupby("query_id")["query_text"].transform("nunique")
    frame = drop_rows(frame, texts_per_id > 1, table, "conflicting_caption_text", q, frame["query_id"])
    frame = drop_missing_images(frame, "image", train_ok, table, q)
    return drop_missing_images(frame, "query_image", train_ok, table, q)


def _clean_expert(frame: pd.DataFrame, train_ok: set[str], q: Quarantine) -> pd.DataFrame:
    table = EXPERT.file
    frame = frame.assign(image=frame["image"].str.strip())
    frame = split_query_ids(frame, table, q)
    scores = ["expert_1", "expert_2", "expert_3"]
    for column in scores:
        frame = numeric(frame, column, table, q)
    values = frame[scores].to_numpy(dtype=float)
    out_of_range = pd.Series(((values < 1) | (values > 4) | (values != np.round(values))).any(axis=1),
                             index=frame.index)
    frame = drop_rows(frame, out_of_range, table, "expert_score_out_of_range", q,
                      _joined(frame, scores, ","))
    frame = frame.astype({c: "int64" for c in scores})
    frame = drop_duplicates(frame, ["image", "query_id"], scores, table, q)
    return drop_missing_images(frame, "image", train_ok, table, q)


def _clean_crowd(frame: pd.DataFrame, train_ok: set[str], q: Quarantine) -> pd.DataFrame:
    table = CROWD.file
    frame = frame.assign(image=frame["image"].str.strip())
    frame = split_query_ids(frame, table, q)
    for column in ["share_yes", "n_yes", "n_no"]:
        frame = numeric(frame, column, table, q)
    share, yes, no = frame["share_yes"], frame["n_yes"], frame["n_no"]
    frame = drop_rows(frame, (share < 0) | (share > 1), table, "crowd_share_out_of_range", q, share.astype(str))
    share, yes, no = frame["share_yes"], frame["n_yes"], frame["n_no"]
    bad_counts = ((yes < 0) | (no < 0) | (yes != yes.round()) | (no != no.round()) | (yes + no == 0)
                  | (yes + no > MAX_VOTES))
    frame = drop_rows(frame, bad_counts, table, "bad_vote_counts", q)
    share, yes, no = frame["share_yes"], frame["n_yes"], frame["n_no"]
    inconsistent = (share - yes / (yes + no)).abs() > 0.01
    frame = drop_rows(frame, inconsistent, table, "crowd_share_inconsistent_with_counts", q,
                      share.astype(str) + " vs " + yes.astype(str) + "/" + (yes + no).astype(str))
    frame = frame.astype({"n_yes": "int64", "n_no": "int64", "share_yes": "float64"})
    frame = drop_duplicates(frame, ["image", "query_id"], ["share_yes", "n_yes", "n_no"], table, q)
    return drop_missing_images(frame, "image", train_ok, table, q)


def _clean_test_queries(frame: pd.DataFrame, test_ok: set[str], q: Quarantine) -> pd.DataFrame:
    table = TEST_QUERIES.file
    frame = frame.assign(image=frame["image"].str.strip())
    frame = split_query_ids(frame, table, q)
    frame = _strip_text(frame, table, q)
    frame = drop_rows(frame, frame["query_image"] != frame["image"], table, "query_id_image_mismatch", q,
                      frame["query_id"])
    frame = drop_duplicates(frame, ["query_id"], ["query_text"], table, q)
    return drop_missing_images(frame, "image", test_ok, table, q)
