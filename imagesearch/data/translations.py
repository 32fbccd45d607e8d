"""Hand translations (``data/translations/*.tsv``), checked on read.

A file is tab-separated with a header ``query_id<TAB>query_ru``: one row per text, keyed by the
dataset's ids (``test_queries_ru.tsv``: every test query; ``train_captions_ru.tsv``: every train
caption). The translations were written for this project (docs/search-and-serving.md,
"Queries in Russian").
"""
from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from imagesearch.errors import InputError

COLUMNS = ["query_id", "query_ru"]


class TranslationError(InputError):
    """The translations file is malformed; the message names the file, the line and the problem."""


def read_translations(path: str | Path, expected_ids: Collection[str]) -> pd.DataFrame:
    """(query_id, query_ru) in file order; every expected id exactly once, no other id, no empty text."""
    path = Path(path)
    if not path.is_file():
        raise TranslationError(f"{path}: no such file (the project keeps it in git: data/translations/)")
    expected = set(expected_ids)
    rows, seen = [], {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != COLUMNS:
            raise TranslationError(f"{path}:1: expected the header {'<TAB>'.join(COLUMNS)}, got {header}")
        for line, fields in enumerate(reader, start=2):
            if len(fields) != 2:
                raise TranslationError(f"{path}:{line}: expected 2 tab-separated fields, got {len(fields)}")
            query_id, text = fields[0], " ".join(fields[1].split())
            if query_id not in expected:
                raise TranslationError(f"{path}:{line}: {query_id!r} is not a test query id")
            if query_id in seen:
                raise TranslationError(f"{path}:{line}: {query_id!r} repeats line {seen[query_id]}")
            if not text:
                raise TranslationError(f"{path}:{line}: the translation of {query_id!r} is empty")
            seen[query_id] = line
            rows.append((query_id, text))
    missing = sorted(expected - set(seen))
    if missing:
        raise TranslationError(f"{path}: no translation for {len(missing)} test queries, e.g. {missing[:3]}")
    return pd.DataFrame(rows, columns=COLUMNS)
