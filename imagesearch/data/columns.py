"""Columns of a small parquet file as Python lists, without pandas (~0.4 s to import).

``pyarrow.parquet.read_table`` goes through ``pyarrow.dataset``, which imports pandas; a
``ParquetFile`` reads the file directly. For the index files a query reads (catalog, photo verdicts).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def read_columns(path: str | Path, names: list[str]) -> dict[str, list[Any]]:
    """``{name: values}`` of the columns ``names`` of the parquet file at ``path``."""
    with pq.ParquetFile(path) as parquet:
        return parquet.read(columns=names).to_pydict()
