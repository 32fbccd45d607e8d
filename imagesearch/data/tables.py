"""The raw tables as stored on disk: their formats, strict parsing, and the quarantine ledger.

A problem with a whole file (missing, not UTF-8, wrong number of columns throughout, a header
where none belongs, no rows) raises :class:`DataError` naming the file, the line and the problem;
a bad row is counted in the :class:`Quarantine` under a named reason.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from imagesearch.errors import InputError

class DataError(InputError):
    """A whole input file is unusable; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class TableSpec:
    """How one raw table is stored on disk."""

    file: str
    columns: tuple[str, ...]
    delimiter: str
    header: tuple[str, ...] | None  # the header line expected in the file, None if headerless


TRAIN_PAIRS = TableSpec("train_dataset.csv", ("image", "query_id", "query_text"), ",",
                        ("image", "query_id", "query_text"))
EXPERT = TableSpec("ExpertAnnotations.tsv", ("image", "query_id", "expert_1", "expert_2", "expert_3"),
                   "\t", None)
CROWD = TableSpec("CrowdAnnotations.tsv", ("image", "query_id", "share_yes", "n_yes", "n_no"), "\t", None)
TEST_QUERIES = TableSpec("test_queries.csv", ("row", "query_id", "query_text", "image"), "|",
                         ("", "query_id", "query_text", "image"))
TEST_IMAGES = TableSpec("test_images.csv", ("image",), ",", ("image",))
TABLES = (TRAIN_PAIRS, EXPERT, CROWD, TEST_QUERIES, TEST_IMAGES)


@dataclass
class Quarantine:
    """Rows and images kept out, each with a named reason; the accounting behind data_quality.json."""

    rows: list[dict] = field(default_factory=list)
    rows_in: Counter = field(default_factory=Counter)

    def add(self, table: str, line: int | None, reason: str, detail: str = "") -> None:
        self.rows.append({"table": table, "line": line, "reason": reason, "detail": detail})

    def count(self, table: str) -> Counter:
        return Counter(row["reason"] for row in self.rows if row["table"] == table)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["table", "line", "reason", "detail"])

    def report(self, kept: dict[str, int]) -> dict:
        """Per table: rows in, kept, quarantined per reason. Raises if a row went missing."""
        report = {}
        for table, n_kept in kept.items():
            reasons = dict(sorted(self.count(table).items()))
            n_in = self.rows_in[table]
            if n_in != n_kept + sum(reasons.values()):
                raise AssertionError(
                    f"{table}: {n_in} rows in but {n_kept} kept + {sum(reasons.values())} quarantined"
                )
            report[table] = {"rows_in": n_in, "rows_kept": n_kept,
                             "rows_quarantined": sum(reasons.values()), "reasons": reasons}
        return report


def read_table(path: Path, spec: TableSpec, quarantine: Quarantine) -> pd.DataFrame:
    """Parse one raw table with its real format; rows with a wrong field count are quarantined.

    Returns string columns plus ``line`` (1-based line number in the file) for later messages.
    """
    name = spec.file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file is missing") from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate a BOM
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: bytes that are not UTF-8 ({err.reason})") from None
    numbered = [(number, row) for number, row in _parse(path, text, spec.delimiter)
                if any(c.strip() for c in row)]
    if spec.header is not None:
        if not numbered or tuple(c.strip() for c in numbered[0][1]) != spec.header:
            got = numbered[0][1] if numbered else "nothing"
            line = numbered[0][0] if numbered else 1
            raise DataError(f"{path}:{line}: expected header {list(spec.header)}, got {got}"
                            f"{_separator_hint(text, spec)}")
        numbered = numbered[1:]
    elif numbered and _looks_like_header(numbered[0][1], spec):
        raise DataError(f"{path}:1: this file has no header, but line 1 looks like one: {numbered[0][1]}")
    if not numbered:
        raise DataError(f"{path}: no data rows")
    width = len(spec.columns)
    good = [(n, row) for n, row in numbered if len(row) == width]
    if not good:
        n, row = numbered[0]
        raise DataError(
            f"{path}:{n}: expected {width} fields separated by {spec.delimiter!r}, got {len(row)} "
            f"(wrong separator or columns?){_separator_hint(text, spec)}"
        )
    quarantine.rows_in[name] += len(numbered)
    for n, row in numbered:
        if len(row) != width:
            quarantine.add(name, n, "wrong_field_count", f"{len(row)} fields, expected {width}")
    frame = pd.DataFrame([row for _, row in good], columns=list(spec.columns), dtype="string")
    frame.insert(0, "line", [n for n, _ in good])
    return frame


def _parse(path: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """CSV records with the file line each starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    try:
        for row in reader:
            if reader.line_num != start:  # no field of these tables may hold a line break
                raise DataError(f"{path}:{start}: a quoted field runs over lines {start}-{reader.line_num} "
                                f"(an unclosed quote?)")
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as err:  # a field over csv's size limit
        raise DataError(f"{path}:{start}: cannot parse as {delimiter!r}-separated text ({err})") from None
    return rows


SEPARATORS = (",", "\t", "|", ";")


def _separator_hint(text: str, spec: TableSpec) -> str:
    """' (it looks ';'-separated)' when another separator splits line 1 into the expected width."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    for other in SEPARATORS:
        if other != spec.delimiter and len(next(csv.reader([first], delimiter=other), [])) == len(spec.columns):
            return f" (it looks {other!r}-separated)"
    return ""


def _looks_like_header(row: list[str], spec: TableSpec) -> bool:
    lowered = {cell.strip().lower() for cell in row}
    return "image" in lowered or "query_id" in lowered
