"""The legal rule's YAML files (term list, lexicons), parsed by libyaml where PyYAML has it.

The pure-Python parser took ~0.3 s of a cold query to read the lexicons; libyaml reads the same
files in a tenth of that, into the same data (``SafeLoader`` and ``CSafeLoader`` share the
constructor and resolver, only the parser differs; tests/test_legal_lexicons.py compares them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: str | Path) -> Any:
    """The data of the UTF-8 YAML file at ``path`` (safe types only)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=LOADER)
