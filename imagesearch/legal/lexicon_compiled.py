"""``lexicons/compiled.json``: every language list as :mod:`~imagesearch.legal.lexicon_build` builds
it, folded and expanded, so a query reads one JSON file instead of folding thousands of words.

Write it after changing a list, ``forms.json``, ``terms.yaml`` or the folding code:
``python -m imagesearch.legal.lexicon_compiled``. The file records a key (sha256) of everything
its content comes from: the sources, the code that builds and folds the lists, Python's Unicode
version. A file whose key does not match is not used: the lists are built from their sources
(correct, slower) and a warning says to rewrite it; tests/test_legal_compiled.py checks that the
committed file is what this module writes. Regular expressions are stored as their source and
compiled on load; the misspelling index is rebuilt from the anchors.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from imagesearch.legal.lexicon import FORMS_PATH, LANGUAGES, LEXICON_DIR, Lexicon, fuzzy_index

log = logging.getLogger(__name__)

COMPILED_PATH = LEXICON_DIR / "compiled.json"
FORMAT = 1
_HERE = Path(__file__).parent
# the code a list's compiled form depends on: the builder, this file, and the folding of words
CODE = ("lexicon_build.py", "lexicon_compiled.py", "folding.py", "normalise.py", "spelling.py")
_SETS = ("head_exceptions", "markers", "non_persons", "real_words", "silent", "not_blocked", "russian_terms",
         "not_forms", "modifier_heads", "fires_only")
_TUPLES = ("heads", "modifiers")
_PHRASES = ("phrases", "exceptions")
_TUPLE_VALUES = ("collisions", "context_vetoes")
_DERIVED = ("fuzzy",)  # rebuilt on load from the anchors


def source_files(root: Path = _HERE) -> list[Path]:
    """Every file the compiled lists are built from, in the legal package at ``root``."""
    lexicons = root / LEXICON_DIR.name
    return ([lexicons / f"{lang}.yaml" for lang in LANGUAGES] + [lexicons / FORMS_PATH.name, root / "terms.yaml"]
            + [root / name for name in CODE])


def source_key(root: Path = _HERE) -> str:
    """sha256 of the sources' names and bytes, the file format and Python's Unicode version."""
    digest = hashlib.sha256(f"format {FORMAT}, unicode {unicodedata.unidata_version}\n".encode())
    for path in source_files(root):
        data = path.read_bytes() if path.is_file() else b"(missing)"
        digest.update(f"{path.relative_to(root).as_posix()} {hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


def to_data(lexicon: Lexicon) -> dict[str, Any]:
    """A list as JSON data: sets sorted, patterns as their source, the misspelling index left out."""
    data: dict[str, Any] = {}
    for field in fields(lexicon):
        value = getattr(lexicon, field.name)
        if field.name in _DERIVED:
            continue
        if field.name == "stems":
            value = None if value is None else _source(value)
        elif field.name == "age_patterns":
            value = [[_source(pattern), unit] for pattern, unit in value]
        elif field.name in _SETS:
            value = None if value is None else sorted(value)
        data[field.name] = value
    return data


def from_data(data: dict[str, Any]) -> Lexicon:
    """The list :func:`to_data` wrote, compiled for matching (equal to the one built from sources)."""
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name == "stems":
            value = None if value is None else re.compile(value)
        elif name == "age_patterns":
            value = tuple((re.compile(source), unit) for source, unit in value)
        elif name in _SETS:
            value = None if value is None else frozenset(value)
        elif name in _TUPLES:
            value = tuple(value)
        elif name in _PHRASES:
            value = tuple(tuple(tuple(alternatives) for alternatives in phrase) for phrase in value)
        elif name in _TUPLE_VALUES:
            value = {key: tuple(words) for key, words in value.items()}
        values[name] = value
    return Lexicon(**values, fuzzy=fuzzy_index(values["anchors"]))


def _source(pattern: re.Pattern[str]) -> str:
    if pattern.flags != re.UNICODE:  # only the source is stored
        raise ValueError(f"pattern {pattern.pattern[:40]!r}...: flags {pattern.flags} cannot be stored")
    return pattern.pattern


@lru_cache(maxsize=1)
def compiled_lexicons() -> dict[str, dict[str, Any]] | None:
    """Each language's stored list, or None when the file is missing or out of date (logged)."""
    return read_compiled(COMPILED_PATH, source_key())


def read_compiled(path: Path, key: str) -> dict[str, dict[str, Any]] | None:
    """The lists stored at ``path`` if they were written from sources with ``key``, else None."""
    if not path.is_file():
        log.warning("%s is missing: the language lists are built from their sources (slower); "
                    "write it with `python -m imagesearch.legal.lexicon_compiled`", path)
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    if stored.get("source_key") != key:
        log.warning("%s does not match its sources: the language lists are built from them (slower); "
                    "rewrite it with `python -m imagesearch.legal.lexicon_compiled`", path)
        return None
    return stored["lexicons"]


def build() -> dict[str, Any]:
    from imagesearch.legal.lexicon_build import build_lexicon

    return {"generated_by": "python -m imagesearch.legal.lexicon_compiled", "source_key": source_key(),
            "lexicons": {lang: to_data(build_lexicon(lang)) for lang in LANGUAGES}}


def write(path: Path = COMPILED_PATH) -> None:
    """Write the compiled lists (the dicts in the order the builder made them), atomically."""
    from imagesearch.atomic import atomic_path

    text = json.dumps(build(), ensure_ascii=False, indent=1) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()
