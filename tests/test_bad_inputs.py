"""Bad input: a corpus of broken datasets, each made from the tiny dataset by one break.

Every case ends in exactly one of three ways, and the tables below say which:

- ``FAIL_FAST``: a whole file is unusable -> :class:`imagesearch.data.validate.DataError` whose message
  names the file, the line (where there is one) and the problem; the validate stage exits non-zero
  with that message and writes nothing.
- ``QUARANTINE``: a row or an image is kept out and counted under a named reason, and listed in
  the quarantine file; everything else is kept.
- ``TOLERATED``: the input is odd but unambiguous (BOM, CRLF, blank lines, odd image modes); the
  clean tables come out as from the pristine dataset.

For every case that does not fail, every table obeys ``rows in = rows kept + rows quarantined``,
and "rows in" is counted here independently from the raw files, so no row can vanish unseen.
docs/bad-input.md, "Tables and images" is the human-readable version of these tables.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imagesearch.data.tables import CROWD, EXPERT, TABLES, TEST_IMAGES, TEST_QUERIES, TRAIN_PAIRS, DataError
from imagesearch.data.validate import validate_dataset
from tests.tinydata import make_tiny_dataset

REPO = Path(__file__).resolve().parents[1]
MIN_SIDE, MAX_PIXELS = 16, 50_000_000


# ------------------------------------------------------------------ helpers to break a dataset
def rows(root: Path, spec) -> list[list[str]]:
    """The records of a table as written by tinydata (header included where there is one)."""
    with open(root / spec.file, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=spec.delimiter))


def write_rows(root: Path, spec, records: list[list], delimiter: str | None = None) -> None:
    with open(root / spec.file, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter or spec.delimiter, lineterminator="\n").writerows(records)


def edit(spec, change: Callable[[list[list[str]]], list[list]], delimiter: str | None = None):
    """A break that rewrites one table's records."""
    def apply(root: Path) -> None:
        write_rows(root, spec, change(rows(root, spec)), delimiter)
    return apply


def set_cell(spec, index: int, column: int, value: str):
    """Set one cell of data record ``index`` (0-based, header not counted)."""
    skip = 1 if spec.header is not None else 0

    def change(records):
        records[skip + index][column] = value
        return records
    return edit(spec, change)


def raw_bytes(spec, change: Callable[[bytes], bytes]):
    def apply(root: Path) -> None:
        path = root / spec.file
        path.write_bytes(change(path.read_bytes()))
    return apply


def both(*breaks):
    def apply(root: Path) -> None:
        for one in breaks:
            one(root)
    return apply


def train_image(root: Path, index: int) -> Path:
    return sorted((root / "train_images").iterdir())[index]


def replace_image(index: int, make: Callable[[Path], None]):
    """Overwrite train image ``index`` (sorted by name) in place with something else."""
    def apply(root: Path) -> None:
        make(train_image(root, index))
    return apply


def save_as(mode: str, fmt: str = "JPEG"):
    def make(path: Path) -> None:
        with Image.open(path) as image:
            converted = image.convert(mode)
        if mode == "I;16":
            converted = Image.fromarray((np.asarray(image.convert("L"), dtype=np.uint16) * 257))
        converted.save(path, format=fmt)
    return make


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def png_bomb(path: Path, side: int = 30_000) -> None:
    """A valid 1-bit PNG of side x side pixels (900 M for 30000), ~100 KB on disk.

    Written chunk by chunk with an incremental zlib stream, so making it costs no large buffer.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))


# ------------------------------------------------------------------ the corpus
@dataclass(frozen=True)
class FailFast:
    name: str
    apply: Callable[[Path], None]
    file: str
    line: int | None  # None: the problem has no line (a missing file, no rows at all)
    problem: str      # a fragment the message must contain


@dataclass(frozen=True)
class Quarantined:
    name: str
    apply: Callable[[Path], None]
    expected: dict[tuple[str, str], int]  # (table, reason) -> rows; other reasons must not appear
    exact: bool = True                    # False: at least these, others allowed (knock-on effects)
    max_pixels: int = MAX_PIXELS


@dataclass(frozen=True)
class Tolerated:
    name: str
    apply: Callable[[Path], None]
    changes_images: bool = False  # the images table differs (sizes/hashes) but nothing is quarantined


def _drop_last_column(records):
    return [r[:-1] for r in records]


def _add_column(records):
    return [r + ["x"] for r in records]


def _latin1_caption(data: bytes) -> bytes:  # record 5 -> line 7 (header is line 1)
    lines = data.split(b"\n")
    lines[6] = lines[6].rsplit(b",", 1)[0] + b",A caf\xe9 on a corner ."
    return b"\n".join(lines)


BAD_COUNTS = {1: ["0.0", "-1", "3"], 2: ["0.5", "1.5", "1.5"], 3: ["0.0", "0", "0"], 4: ["1.0", "1e12", "0"]}

FAIL_FAST = [
    FailFast("missing table", lambda r: (r / CROWD.file).unlink(), CROWD.file, None, "file is missing"),
    FailFast("missing column (every row)", edit(EXPERT, _drop_last_column), EXPERT.file, 1,
             "expected 5 fields"),
    FailFast("extra column (every row)", edit(CROWD, _add_column), CROWD.file, 1, "expected 5 fields"),
    FailFast("header in a headerless TSV", edit(EXPERT, lambda r: [list(EXPERT.columns)] + r),
             EXPERT.file, 1, "has no header"),
    FailFast("header missing in train_dataset.csv", edit(TRAIN_PAIRS, lambda r: r[1:]), TRAIN_PAIRS.file, 1,
             "expected header"),
    FailFast("header renamed in test_queries.csv",
             edit(TEST_QUERIES, lambda r: [["", "query_id", "text", "image"]] + r[1:]),
             TEST_QUERIES.file, 1, "expected header"),
    FailFast("header missing in test_images.csv", edit(TEST_IMAGES, lambda r: r[1:]), TEST_IMAGES.file, 1,
             "expected header"),
    FailFast("TSV written with commas", edit(EXPERT, lambda r: r, delimiter=","), EXPERT.file, 1,
             "looks ','-separated"),
    FailFast("'|' table written with commas", edit(TEST_QUERIES, lambda r: r, delimiter=","),
             TEST_QUERIES.file, 1, "looks ','-separated"),
    FailFast("CSV written with semicolons", edit(TRAIN_PAIRS, lambda r: r, delimiter=";"), TRAIN_PAIRS.file,
             1, "looks ';'-separated"),
    FailFast("latin-1 byte in a caption", raw_bytes(TRAIN_PAIRS, _latin1_caption), TRAIN_PAIRS.file, 7,
             "not UTF-8"),
    FailFast("UTF-16 file", raw_bytes(CROWD, lambda b: b.decode().encode("utf-16")), CROWD.file, 1,
             "not UTF-8"),
    FailFast("empty table (0 bytes)", raw_bytes(EXPERT, lambda b: b""), EXPERT.file, None, "no data rows"),
    FailFast("blank lines only", raw_bytes(CROWD, lambda b: b"\n\n  \n"), CROWD.file, None, "no data rows"),
    FailFast("header only", edit(TRAIN_PAIRS, lambda r: r[:1]), TRAIN_PAIRS.file, None, "no data rows"),
    FailFast("unclosed quote (would swallow the next rows)",
             raw_bytes(TRAIN_PAIRS, lambda b: b.replace(b",A ", b',"A ', 1)), TRAIN_PAIRS.file, 2,
             "unclosed quote"),
    FailFast("field over 128 KiB", set_cell(TRAIN_PAIRS, 3, 2, "x" * 200_000), TRAIN_PAIRS.file, 5,
             "field larger than field limit"),
    FailFast("every row quarantined", edit(EXPERT, lambda r: [x[:2] + ["9", "9", "9"] for x in r]),
             EXPERT.file, None, "nothing usable left"),
    FailFast("every train image broken",
             lambda r: [p.write_bytes(b"not an image") for p in (r / "train_images").iterdir()],
             "train_images", None, "nothing usable left"),
]

QUARANTINE = [
    Quarantined("row with a missing field",
                edit(EXPERT, lambda r: [x if i != 3 else x[:4] for i, x in enumerate(r)]),
                {(EXPERT.file, "wrong_field_count"): 1}),
    Quarantined("row with an extra field", edit(CROWD, lambda r: [x + ["1"] if i == 3 else x
                                                                 for i, x in enumerate(r)]),
                {(CROWD.file, "wrong_field_count"): 1}),
    Quarantined("caption 'NaN'", set_cell(TRAIN_PAIRS, 5, 2, "NaN"), {(TRAIN_PAIRS.file, "empty_caption"): 1}),
    Quarantined("empty and blank captions",
                both(set_cell(TRAIN_PAIRS, 6, 2, ""), set_cell(TEST_QUERIES, 2, 2, "   ")),
                {(TRAIN_PAIRS.file, "empty_caption"): 1, (TEST_QUERIES.file, "empty_caption"): 1}),
    Quarantined("same (image, query_id) twice, conflicting expert scores",
                edit(EXPERT, lambda r: r + [r[0][:2] + ["4", "4", "4" if r[0][4] != "4" else "1"]]),
                {(EXPERT.file, "conflicting_duplicate"): 2}),
    Quarantined("same (image, query_id) twice, conflicting crowd votes",
                edit(CROWD, lambda r: r + [r[0][:2] + (["1.0", "3", "0"] if r[0][3] != "3" else ["0.0", "0", "3"])]),
                {(CROWD.file, "conflicting_duplicate"): 2}),
    Quarantined("exact duplicate row", edit(EXPERT, lambda r: r + [list(r[4])]), {(EXPERT.file, "duplicate_row"): 1}),
    Quarantined("expert scores outside 1-4 (0, 5, 2.5, -1)",
                both(set_cell(EXPERT, 1, 2, "0"), set_cell(EXPERT, 2, 3, "5"), set_cell(EXPERT, 3, 4, "2.5"),
                     set_cell(EXPERT, 4, 2, "-1")),
                {(EXPERT.file, "expert_score_out_of_range"): 4}),
    Quarantined("expert score not a number (text, NaN, inf, empty)",
                both(set_cell(EXPERT, 1, 2, "three"), set_cell(EXPERT, 2, 3, "nan"),
                     set_cell(EXPERT, 3, 4, "inf"), set_cell(EXPERT, 4, 2, "")),
                {(EXPERT.file, "non_numeric_expert_1"): 2, (EXPERT.file, "non_numeric_expert_2"): 1,
                 (EXPERT.file, "non_numeric_expert_3"): 1}),
    Quarantined("crowd share inconsistent with its counts",
                edit(CROWD, lambda r: [x[:2] + ["0.9", "0", "3"] if i == 2 else x for i, x in enumerate(r)]),
                {(CROWD.file, "crowd_share_inconsistent_with_counts"): 1}),
    Quarantined("crowd share outside [0, 1]", set_cell(CROWD, 3, 2, "1.5"),
                {(CROWD.file, "crowd_share_out_of_range"): 1}),
    Quarantined("crowd counts negative, fractional, zero, absurd or infinite",
                both(edit(CROWD, lambda r: [x[:2] + BAD_COUNTS[i] if i in BAD_COUNTS else x
                                            for i, x in enumerate(r)]),
                     set_cell(CROWD, 5, 3, "inf")),
                {(CROWD.file, "bad_vote_counts"): 4, (CROWD.file, "non_numeric_n_yes"): 1}),
    Quarantined("query_id not <image>#<n>",
                both(set_cell(EXPERT, 1, 1, "abc"), set_cell(EXPERT, 2, 1, "x.jpg#"),
                     set_cell(EXPERT, 3, 1, "x.jpg#one"), set_cell(EXPERT, 4, 1, "x.jpg"),
                     set_cell(CROWD, 1, 1, "a b.jpg#1"), set_cell(TRAIN_PAIRS, 1, 1, "#1")),
                {(EXPERT.file, "bad_query_id"): 4, (CROWD.file, "bad_query_id"): 1,
                 (TRAIN_PAIRS.file, "bad_query_id"): 1}),
    Quarantined("rows naming an image that does not exist",
                both(set_cell(EXPERT, 1, 0, "nope.jpg"), set_cell(CROWD, 1, 0, "../../etc/passwd"),
                     set_cell(TRAIN_PAIRS, 1, 0, "nope.jpg")),
                {(EXPERT.file, "unknown_image"): 1, (CROWD.file, "unknown_image"): 1,
                 (TRAIN_PAIRS.file, "unknown_image"): 1}),
    Quarantined("caption whose own image does not exist",
                set_cell(TRAIN_PAIRS, 1, 1, "nope.jpg#0"),
                {(TRAIN_PAIRS.file, "unknown_query_image"): 1}),
    Quarantined("same query_id, two different caption texts",
                set_cell(TRAIN_PAIRS, 0, 2, "A different text ."),
                {(TRAIN_PAIRS.file, "conflicting_caption_text"): 4}),
    Quarantined("test query whose image column disagrees with its query_id",
                lambda r: set_cell(TEST_QUERIES, 0, 3, rows(r, TEST_QUERIES)[3][3])(r),
                {(TEST_QUERIES.file, "query_id_image_mismatch"): 1}),
    Quarantined("test query repeated with another text",
                edit(TEST_QUERIES, lambda r: r + [["99", r[1][1], "Another text .", r[1][3]]]),
                {(TEST_QUERIES.file, "conflicting_duplicate"): 2}),
    Quarantined("test image listed twice", edit(TEST_IMAGES, lambda r: r + [r[1]]),
                {(TEST_IMAGES.file, "duplicate_row"): 1}),
    Quarantined("test image listed but its file is missing",
                lambda r: (r / "test_images" / rows(r, TEST_IMAGES)[2][0]).unlink(),
                {(TEST_IMAGES.file, "missing_file"): 1, (TEST_QUERIES.file, "unknown_image"): 2}),
    Quarantined("test listing names a path outside test_images/",
                edit(TEST_IMAGES, lambda r: r + [["../train_images/" + "x.jpg"], ["/etc/hostname"]]),
                {(TEST_IMAGES.file, "bad_image_name"): 2}),
    Quarantined("truncated JPEG", replace_image(3, truncate), {("images", "undecodable"): 1}, exact=False),
    Quarantined("zero-byte image", replace_image(4, lambda p: p.write_bytes(b"")),
                {("images", "undecodable"): 1}, exact=False),
    Quarantined("text file named .jpg", replace_image(5, lambda p: p.write_text("hello")),
                {("images", "undecodable"): 1}, exact=False),
    Quarantined("stray non-image file in train_images/",
                lambda r: (r / "train_images" / "notes.txt").write_text("scan log"),
                {("images", "undecodable"): 1}),
    Quarantined("1x1 image", replace_image(6, lambda p: Image.new("RGB", (1, 1), "red").save(p, "JPEG")),
                {("images", "too_small"): 1}, exact=False),
    Quarantined("decompression bomb: 30000x30000 PNG named .jpg", replace_image(7, png_bomb),
                {("images", "too_many_pixels"): 1}, exact=False),
    Quarantined("image over validate.max_image_pixels", replace_image(8, lambda p: None),
                {("images", "too_many_pixels"): 24}, exact=False, max_pixels=100),
]

TOLERATED = [
    Tolerated("UTF-8 BOM (CSV with header)", raw_bytes(TRAIN_PAIRS, lambda b: b"\xef\xbb\xbf" + b)),
    Tolerated("UTF-8 BOM (headerless TSV)", raw_bytes(EXPERT, lambda b: b"\xef\xbb\xbf" + b)),
    Tolerated("CRLF line ends, every table",
              both(*[raw_bytes(spec, lambda b: b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
                     for spec in TABLES])),
    Tolerated("BOM and CRLF together",
              both(*[raw_bytes(spec, lambda b: b"\xef\xbb\xbf" + b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
                     for spec in TABLES])),
    Tolerated("blank lines and no final newline",
              both(raw_bytes(CROWD, lambda b: b.replace(b"\n", b"\n\n", 3).rstrip(b"\n")),
                   raw_bytes(TEST_QUERIES, lambda b: b + b"\n\n"))),
    Tolerated("spaces around fields", edit(EXPERT, lambda r: [[f" {c} " for c in x] for x in r])),
    Tolerated("grayscale JPEG", replace_image(0, save_as("L")), changes_images=True),
    Tolerated("CMYK JPEG", replace_image(1, save_as("CMYK")), changes_images=True),
    Tolerated("PNG named .jpg", replace_image(2, save_as("RGB", "PNG")), changes_images=True),
    Tolerated("RGBA PNG named .jpg", replace_image(9, save_as("RGBA", "PNG")), changes_images=True),
    Tolerated("paletted PNG named .jpg", replace_image(10, save_as("P", "PNG")), changes_images=True),
    Tolerated("16-bit grayscale PNG named .jpg", replace_image(11, save_as("I;16", "PNG")), changes_images=True),
]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("pristine") / "dataset")


@pytest.fixture(scope="module")
def pristine_clean(pristine):
    return validate_dataset(pristine, MIN_SIDE, MAX_PIXELS, progress=False)


def broken_copy(pristine: Path, tmp_path: Path, apply: Callable[[Path], None]) -> Path:
    root = tmp_path / "dataset"
    shutil.copytree(pristine, root)
    apply(root)
    return root


def count_data_lines(root: Path, spec) -> int:
    """Rows in, counted independently of data.py: non-blank CSV records minus the header."""
    text = (root / spec.file).read_bytes().decode("utf-8-sig")
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter)
               if any(c.strip() for c in r)]
    return len(records) - (1 if spec.header is not None else 0)


def check_accounting(root: Path, clean) -> dict:
    """rows in = kept + quarantined for every table, with rows in counted from the raw files."""
    report = clean.quality_report()
    for table, counts in report.items():
        assert counts["rows_in"] == counts["rows_kept"] + counts["rows_quarantined"], (table, counts)
        assert counts["rows_quarantined"] == sum(counts["reasons"].values()), (table, counts)
    for spec in TABLES:
        assert report[spec.file]["rows_in"] == count_data_lines(root, spec), spec.file
    frame = clean.quarantine.frame()
    assert len(frame) == sum(c["rows_quarantined"] for c in report.values())
    assert frame["reason"].str.len().gt(0).all()
    table_rows = frame[frame["table"] != "images"]
    assert table_rows["line"].notna().all(), "every quarantined table row names its line"
    assert not table_rows.duplicated(["table", "line"]).any(), "a row is quarantined at most once"
    return report


def reasons_of(report: dict) -> dict[tuple[str, str], int]:
    return {(table, reason): n for table, c in report.items() for reason, n in c["reasons"].items()}


# ------------------------------------------------------------------ the tests
def test_pristine_tiny_dataset_is_clean(pristine, pristine_clean):
    report = check_accounting(pristine, pristine_clean)
    assert reasons_of(report) == {}


@pytest.mark.parametrize("case", FAIL_FAST, ids=[c.name for c in FAIL_FAST])
def test_fail_fast(case: FailFast, pristine, tmp_path):
    root = broken_copy(pristine, tmp_path, case.apply)
    with pytest.raises(DataError) as caught:
        validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    message = str(caught.value)
    where = f"{root / case.file}:{case.line}:" if case.line is not None else str(root / case.file)
    assert where in message, message
    assert case.problem in message, message


@pytest.mark.parametrize("case", QUARANTINE, ids=[c.name for c in QUARANTINE])
def test_quarantine(case: Quarantined, pristine, tmp_path):
    root = broken_copy(pristine, tmp_path, case.apply)
    start = time.perf_counter()
    clean = validate_dataset(root, MIN_SIDE, case.max_pixels, progress=False) if case.max_pixels == MAX_PIXELS \
        else None
    if clean is None:  # a tiny max_pixels quarantines every image: that is a whole-dataset failure
        with pytest.raises(DataError, match="nothing usable left"):
            validate_dataset(root, MIN_SIDE, case.max_pixels, progress=False)
        return
    assert time.perf_counter() - start < 10
    report = check_accounting(root, clean)
    found = reasons_of(report)
    if case.exact:
        assert found == case.expected
    else:
        assert found.items() >= case.expected.items(), found
    listed = clean.quarantine.frame()
    for (table, reason), n in case.expected.items():
        assert (listed[(listed["table"] == table) & (listed["reason"] == reason)].shape[0]) == n


@pytest.mark.parametrize("case", [c for c in QUARANTINE if c.name in {
    "truncated JPEG", "zero-byte image", "text file named .jpg", "1x1 image",
    "decompression bomb: 30000x30000 PNG named .jpg"}], ids=lambda c: c.name)
def test_a_quarantined_image_takes_its_rows_with_it(case, pristine, tmp_path):
    """Rows naming an unusable image are quarantined too (unknown_image / unknown_query_image)."""
    root = broken_copy(pristine, tmp_path, case.apply)
    clean = validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    listed = clean.quarantine.frame()
    bad = listed.loc[listed["table"] == "images", "detail"].str.split("/").str[-1].item()
    assert bad not in set(clean.images["image"])
    for frame in (clean.train_pairs, clean.expert, clean.crowd):
        assert bad not in set(frame["image"])
    assert bad not in set(clean.train_pairs["query_image"])
    expected_rows = sum((pd.read_csv(root / spec.file, sep=spec.delimiter, header=0 if spec.header else None,
                                     dtype=str).iloc[:, 0] == bad).sum()
                        for spec in (TRAIN_PAIRS, EXPERT, CROWD))
    unknown = listed[listed["reason"] == "unknown_image"]
    assert len(unknown) == expected_rows


def test_decompression_bomb_is_cheap_to_reject(pristine, tmp_path):
    root = broken_copy(pristine, tmp_path, replace_image(7, png_bomb))
    assert train_image(root, 7).stat().st_size < 1_000_000
    start = time.perf_counter()
    clean = validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    assert time.perf_counter() - start < 5
    assert reasons_of(clean.quality_report())[("images", "too_many_pixels")] == 1


@pytest.mark.parametrize("case", TOLERATED, ids=[c.name for c in TOLERATED])
def test_tolerated(case: Tolerated, pristine, pristine_clean, tmp_path):
    root = broken_copy(pristine, tmp_path, case.apply)
    clean = validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    report = check_accounting(root, clean)
    assert reasons_of(report) == {}
    for name in ["captions", "train_pairs", "expert", "crowd", "test_queries"]:
        pd.testing.assert_frame_equal(getattr(clean, name), getattr(pristine_clean, name), obj=name)
    if case.changes_images:
        assert list(clean.images["image"]) == list(pristine_clean.images["image"])
    else:
        pd.testing.assert_frame_equal(clean.images.drop(columns="path"),
                                      pristine_clean.images.drop(columns="path"))


@pytest.mark.parametrize("spec", [EXPERT, CROWD, TRAIN_PAIRS, TEST_QUERIES, TEST_IMAGES], ids=lambda s: s.file)
def test_a_table_of_one_row(spec, pristine, tmp_path):
    """One data row is a valid (if small) table: kept, accounted, and labels can aggregate it."""
    from imagesearch.data.labels import agreement, aggregate

    def keep_one(records):
        header = records[:1] if spec.header is not None else []
        body = records[len(header):]
        return header + [body[0]]
    root = broken_copy(pristine, tmp_path, edit(spec, keep_one))
    clean = validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    report = check_accounting(root, clean)
    assert report[spec.file]["rows_in"] == 1 and report[spec.file]["rows_kept"] == 1
    pairs, counts = aggregate(clean.expert, clean.crowd, clean.captions, "blend", 0.6, 1.0)
    assert pairs["target"].between(0, 1).all()
    agreement(clean.expert, clean.crowd)


# ------------------------------------------------------------------ fuzzed rows
CELL = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "0", "5", "2.5", "-1", "nan", "NaN", "inf", "-inf", "1e400", "",
                     " ", "0.333333", "1.0", "0.0", "1e12", "None", "null", "#", "x.jpg#1"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\r\n\x00"),
            max_size=12),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@pytest.fixture(scope="module")
def fuzz_root(pristine, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "dataset"
    shutil.copytree(pristine, root)
    return root


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expert_junk=st.lists(st.tuples(st.integers(0, 71), st.integers(0, 4), CELL), max_size=8),
       crowd_junk=st.lists(st.tuples(st.integers(0, 108), st.integers(0, 4), CELL), max_size=8),
       extra=st.lists(st.lists(CELL, min_size=1, max_size=7), max_size=3))
def test_fuzzed_annotation_rows_never_crash_or_vanish(fuzz_root, pristine, expert_junk, crowd_junk, extra):
    """Random junk in random cells (and junk rows appended): DataError or accounted, never a crash."""
    for spec, junk in ((EXPERT, expert_junk), (CROWD, crowd_junk)):
        records = rows(pristine, spec)
        for index, column, value in junk:
            records[index][column] = value
        write_rows(fuzz_root, spec, records + [list(x) for x in extra])
    try:
        clean = validate_dataset(fuzz_root, MIN_SIDE, MAX_PIXELS, progress=False)
    except DataError as err:
        assert str(fuzz_root) in str(err)
        return
    check_accounting(fuzz_root, clean)
    assert clean.expert[["expert_1", "expert_2", "expert_3"]].isin([1, 2, 3, 4]).all().all()
    assert clean.crowd["share_yes"].between(0, 1).all()
    assert (clean.crowd["n_yes"] >= 0).all() and (clean.crowd["n_no"] >= 0).all()


# ------------------------------------------------------------------ the images survive embedding
ODD_IMAGES = [c for c in TOLERATED if c.changes_images]


@pytest.mark.parametrize("case", ODD_IMAGES, ids=[c.name for c in ODD_IMAGES])
def test_odd_images_survive_the_encoders_input_pipeline(case, pristine, tmp_path):
    """Every image mode that validation keeps decodes to the RGB crop the encoders take."""
    from imagesearch.embedding.encoders.image_base import load_rgb, resize_center_crop

    root = broken_copy(pristine, tmp_path, case.apply)
    clean = validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    for path in clean.images["path"]:
        crop = resize_center_crop(load_rgb(path), 256, 224)
        assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8


@pytest.mark.slow  # the default encoder in float64 over every odd image
def test_odd_images_embed_with_the_default_encoder(pristine, tmp_path):
    """Grayscale, CMYK, PNG-named-.jpg (and RGBA, paletted, 16-bit) through EfficientNet-Lite0."""
    pytest.importorskip("efficientnet_lite_pytorch")
    from imagesearch.embedding.encoders.image import build_image_encoder

    root = broken_copy(pristine, tmp_path, both(*[c.apply for c in ODD_IMAGES]))
    clean = validate_dataset(root, MIN_SIDE, MAX_PIXELS, progress=False)
    assert len(clean.images) == 24
    with Image.open(train_image(root, 1)) as image:
        assert image.mode == "CMYK"
    encoder = build_image_encoder({"encoder": "efficientnet-lite0", "batch_size": 8})
    vectors = encoder.encode([str(train_image(root, i)) for i in range(3)] +
                             [str(train_image(root, i)) for i in (9, 10, 11)])
    assert vectors.shape == (6, encoder.dim) and np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)


# ------------------------------------------------------------------ the validate stage
def run_validate_stage(work: Path, dataset: Path) -> subprocess.CompletedProcess:
    (work / "data").mkdir(parents=True)
    shutil.copytree(dataset, work / "data" / "raw")
    shutil.copy2(REPO / "params.yaml", work / "params.yaml")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(REPO / "stages" / "validate.py")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)


def test_validate_stage_fails_fast_with_the_message_and_writes_nothing(pristine, tmp_path):
    case = next(c for c in FAIL_FAST if c.name == "header in a headerless TSV")
    broken = broken_copy(pristine, tmp_path / "src", case.apply)
    result = run_validate_stage(tmp_path / "work", broken)
    assert result.returncode != 0
    assert "ExpertAnnotations.tsv:1: this file has no header" in result.stderr
    assert "Traceback" not in result.stderr, "a data error is a message, not a stack trace"
    assert not (tmp_path / "work" / "data" / "clean").exists()
    assert not (tmp_path / "work" / "metrics").exists()


def test_validate_stage_writes_report_and_quarantine_file(pristine, tmp_path):
    case = next(c for c in QUARANTINE if c.name == "truncated JPEG")
    broken = broken_copy(pristine, tmp_path / "src", both(case.apply, set_cell(EXPERT, 1, 2, "7")))
    result = run_validate_stage(tmp_path / "work", broken)
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads((tmp_path / "work" / "metrics" / "data_quality.json").read_text())
    listed = pd.read_csv(tmp_path / "work" / "data" / "clean" / "quarantine.csv")
    assert len(listed) == sum(c["rows_quarantined"] for c in report.values()) > 0
    assert report["images"]["reasons"] == {"undecodable": 1}
    assert report[EXPERT.file]["reasons"]["expert_score_out_of_range"] == 1
    for table, counts in report.items():
        assert counts["rows_in"] == counts["rows_kept"] + counts["rows_quarantined"]
    leftovers = [p for p in (tmp_path / "work").rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_corpus_size():
    """The figures quoted in docs/bad-input.md, "Tables and images"."""
    assert len(FAIL_FAST) == 19 and len(QUARANTINE) == 28 and len(TOLERATED) == 12
